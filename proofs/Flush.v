(** * The flush-to-zero model of deployed semantics is monotone too

    deployed.rs replays each recipe under the flush model (module flush, Consts::outputs
    falling back to flushed_outputs): every operation may read a subnormal operand
    (|a| < mn, mn the least normal) as 0 (DAZ) and may return 0 for a result of magnitude
    at most mn (FTZ); the constants (alpha, beta', inv, s', b') range over the finite sets
    the flushed constant computations give. So the outputs at x form a set, and the code
    takes its least and greatest elements at the two endpoints of a box. This file proves
    that this is sound: the set-valued recipes are monotone in the sense that for
    l <= x <= h, every output at x lies between an output at l and an output at h, for
    the fast path (fused or not) and PyTorch's fallback (fused or not), with any sets of
    constants whose multipliers share one sign (flushing never changes a sign: it gives
    the value or 0; alpha is RN(inv*g) with inv > 0, so every alpha choice has the sign of
    g or is 0). Rounding: to nearest with any tie rule, any FLT format. *)

From Coq Require Import Reals Lia Lra.
From Flocq Require Import Core.
Open Scope R_scope.

Section Flush.

Variables emin prec : Z.
Context { prec_gt_0_ : Prec_gt_0 prec }.
Variable choice : Z -> bool.
Notation RN := (round radix2 (FLT_exp emin prec) (Znearest choice)).
Variable mn : R.
Hypothesis mn_pos : 0 < mn.

(** A set-valued map: P x y means y is a possible output at x. *)
Definition rel := R -> R -> Prop.

(** Increasing: moving x up, every output has one above it at the new x, and every new
    output has one below it at the old x. Decreasing: the mirror. *)
Definition incr (P : rel) := forall x x', x <= x' ->
  (forall y, P x y -> exists y', P x' y' /\ y <= y') /\
  (forall y', P x' y' -> exists y, P x y /\ y <= y').
Definition decr (P : rel) := forall x x', x <= x' ->
  (forall y, P x y -> exists y', P x' y' /\ y' <= y) /\
  (forall y', P x' y' -> exists y, P x y /\ y' <= y).
Definition mono (P : rel) := incr P \/ decr P.

Definition comp (P Q : rel) : rel := fun x z => exists y, P x y /\ Q y z.
Definition lift (f : R -> R) : rel := fun x y => y = f x.

(** FTZ on a result, DAZ on an operand. *)
Definition ftz : rel := fun x y => y = x \/ (y = 0 /\ Rabs x <= mn).
Definition daz : rel := fun x y => y = x \/ (y = 0 /\ Rabs x < mn).

Lemma ftz_incr : incr ftz.
Proof.
intros x x' H; split.
- intros y [->|[-> Hx]].
  + exists x'; split; [left; reflexivity|lra].
  + destruct (Rle_or_lt 0 x') as [Hp|Hn].
    * exists x'; split; [left; reflexivity|lra].
    * exists 0; split; [right; split; [reflexivity|]|lra].
      revert Hx; unfold Rabs; repeat destruct Rcase_abs; lra.
- intros y' [->|[-> Hx]].
  + exists x; split; [left; reflexivity|lra].
  + destruct (Rle_or_lt x 0) as [Hn|Hp].
    * exists x; split; [left; reflexivity|lra].
    * exists 0; split; [right; split; [reflexivity|]|lra].
      revert Hx; unfold Rabs; repeat destruct Rcase_abs; lra.
Qed.

Lemma daz_incr : incr daz.
Proof.
intros x x' H; split.
- intros y [->|[-> Hx]].
  + exists x'; split; [left; reflexivity|lra].
  + destruct (Rle_or_lt 0 x') as [Hp|Hn].
    * exists x'; split; [left; reflexivity|lra].
    * exists 0; split; [right; split; [reflexivity|]|lra].
      revert Hx; unfold Rabs; repeat destruct Rcase_abs; lra.
- intros y' [->|[-> Hx]].
  + exists x; split; [left; reflexivity|lra].
  + destruct (Rle_or_lt x 0) as [Hn|Hp].
    * exists x; split; [left; reflexivity|lra].
    * exists 0; split; [right; split; [reflexivity|]|lra].
      revert Hx; unfold Rabs; repeat destruct Rcase_abs; lra.
Qed.

Lemma lift_incr : forall f, (forall x x', x <= x' -> f x <= f x') -> incr (lift f).
Proof.
intros f Hf x x' H; split.
- intros y ->. exists (f x'); split; [reflexivity|auto].
- intros y' ->. exists (f x); split; [reflexivity|auto].
Qed.

Lemma lift_decr : forall f, (forall x x', x <= x' -> f x' <= f x) -> decr (lift f).
Proof.
intros f Hf x x' H; split.
- intros y ->. exists (f x'); split; [reflexivity|auto].
- intros y' ->. exists (f x); split; [reflexivity|auto].
Qed.

Lemma rn_incr : incr (lift (fun x => RN x)).
Proof. apply lift_incr. intros x x' H. apply round_le; auto with typeclass_instances. Qed.

(** Composition: the direction multiplies. *)
Lemma comp_ii : forall P Q, incr P -> incr Q -> incr (comp P Q).
Proof.
intros P Q HP HQ x x' H; split.
- intros z [y [Py Qz]].
  destruct (proj1 (HP x x' H) y Py) as [y' [Py' Hy]].
  destruct (proj1 (HQ y y' Hy) z Qz) as [z' [Qz' Hz]].
  exists z'; split; [exists y'; split|]; assumption.
- intros z' [y' [Py' Qz']].
  destruct (proj2 (HP x x' H) y' Py') as [y [Py Hy]].
  destruct (proj2 (HQ y y' Hy) z' Qz') as [z [Qz Hz]].
  exists z; split; [exists y; split|]; assumption.
Qed.

Lemma comp_id : forall P Q, incr P -> decr Q -> decr (comp P Q).
Proof.
intros P Q HP HQ x x' H; split.
- intros z [y [Py Qz]].
  destruct (proj1 (HP x x' H) y Py) as [y' [Py' Hy]].
  destruct (proj1 (HQ y y' Hy) z Qz) as [z' [Qz' Hz]].
  exists z'; split; [exists y'; split|]; assumption.
- intros z' [y' [Py' Qz']].
  destruct (proj2 (HP x x' H) y' Py') as [y [Py Hy]].
  destruct (proj2 (HQ y y' Hy) z' Qz') as [z [Qz Hz]].
  exists z; split; [exists y; split|]; assumption.
Qed.

Lemma comp_di : forall P Q, decr P -> incr Q -> decr (comp P Q).
Proof.
intros P Q HP HQ x x' H; split.
- intros z [y [Py Qz]].
  destruct (proj1 (HP x x' H) y Py) as [y' [Py' Hy]].
  destruct (proj2 (HQ y' y Hy) z Qz) as [z' [Qz' Hz]].
  exists z'; split; [exists y'; split|]; assumption.
- intros z' [y' [Py' Qz']].
  destruct (proj2 (HP x x' H) y' Py') as [y [Py Hy]].
  destruct (proj1 (HQ y' y Hy) z' Qz') as [z [Qz Hz]].
  exists z; split; [exists y; split|]; assumption.
Qed.

Lemma comp_dd : forall P Q, decr P -> decr Q -> incr (comp P Q).
Proof.
intros P Q HP HQ x x' H; split.
- intros z [y [Py Qz]].
  destruct (proj1 (HP x x' H) y Py) as [y' [Py' Hy]].
  destruct (proj2 (HQ y' y Hy) z Qz) as [z' [Qz' Hz]].
  exists z'; split; [exists y'; split|]; assumption.
- intros z' [y' [Py' Qz']].
  destruct (proj2 (HP x x' H) y' Py') as [y [Py Hy]].
  destruct (proj1 (HQ y' y Hy) z' Qz') as [z [Qz Hz]].
  exists z; split; [exists y; split|]; assumption.
Qed.

Lemma comp_mono : forall P Q, mono P -> mono Q -> mono (comp P Q).
Proof.
intros P Q [HP|HP] [HQ|HQ];
  [left; apply comp_ii|right; apply comp_id|right; apply comp_di|left; apply comp_dd];
  assumption.
Qed.

(** A union over constants c in a set C of maps that are all increasing, or all
    decreasing, is monotone. *)
Definition union (C : R -> Prop) (P : R -> rel) : rel := fun x y => exists c, C c /\ P c x y.

Lemma union_incr : forall (C : R -> Prop) (P : R -> rel), (forall c, C c -> incr (P c)) -> incr (union C P).
Proof.
intros C P HP x x' H; split.
- intros y [c [Cc Py]]. destruct (proj1 (HP c Cc x x' H) y Py) as [y' [Py' Hy]].
  exists y'; split; [exists c; split|]; assumption.
- intros y' [c [Cc Py']]. destruct (proj2 (HP c Cc x x' H) y' Py') as [y [Py Hy]].
  exists y; split; [exists c; split|]; assumption.
Qed.

Lemma union_decr : forall (C : R -> Prop) (P : R -> rel), (forall c, C c -> decr (P c)) -> decr (union C P).
Proof.
intros C P HP x x' H; split.
- intros y [c [Cc Py]]. destruct (proj1 (HP c Cc x x' H) y Py) as [y' [Py' Hy]].
  exists y'; split; [exists c; split|]; assumption.
- intros y' [c [Cc Py']]. destruct (proj2 (HP c Cc x x' H) y' Py') as [y [Py Hy]].
  exists y; split; [exists c; split|]; assumption.
Qed.

(** The endpoint argument for a set-valued monotone map. *)
Lemma mono_between :
  forall P l x h y, mono P -> l <= x <= h -> P x y ->
  exists yl yh, P l yl /\ P h yh /\ Rmin yl yh <= y <= Rmax yl yh.
Proof.
intros P l x h y [HP|HP] [Hl Hh] Py.
- destruct (proj2 (HP l x Hl) y Py) as [yl [Pl Hyl]].
  destruct (proj1 (HP x h Hh) y Py) as [yh [Ph Hyh]].
  exists yl, yh; repeat split; try assumption.
  + apply Rle_trans with yl; [apply Rmin_l|lra].
  + apply Rle_trans with yh; [lra|apply Rmax_r].
- destruct (proj2 (HP l x Hl) y Py) as [yl [Pl Hyl]].
  destruct (proj1 (HP x h Hh) y Py) as [yh [Ph Hyh]].
  exists yl, yh; repeat split; try assumption.
  + apply Rle_trans with yh; [apply Rmin_r|lra].
  + apply Rle_trans with yl; [lra|apply Rmax_l].
Qed.

(** One flushed operation on x with a fixed other operand c: read x (DAZ), apply the
    exact operation f, round, flush the result (FTZ). *)
Definition op (f : R -> R) : rel :=
  comp daz (comp (lift f) (comp (lift (fun x => RN x)) ftz)).

Lemma op_incr : forall f, (forall x x', x <= x' -> f x <= f x') -> incr (op f).
Proof.
intros f Hf. unfold op.
apply comp_ii; [apply daz_incr|].
apply comp_ii; [apply lift_incr, Hf|].
apply comp_ii; [apply rn_incr|apply ftz_incr].
Qed.

Lemma op_decr : forall f, (forall x x', x <= x' -> f x' <= f x) -> decr (op f).
Proof.
intros f Hf. unfold op.
apply comp_id; [apply daz_incr|].
apply comp_di; [apply lift_decr, Hf|].
apply comp_ii; [apply rn_incr|apply ftz_incr].
Qed.

(** x * c (the other operand read with DAZ too: c ranges over its flushed values). *)
Lemma mul_op_mono_sign :
  forall c, 0 <= c -> incr (op (fun x => x * c)).
Proof. intros c Hc. apply op_incr. intros x x' H. nra. Qed.

Lemma mul_op_mono_sign_neg :
  forall c, c <= 0 -> decr (op (fun x => x * c)).
Proof. intros c Hc. apply op_decr. intros x x' H. nra. Qed.

Lemma add_op_incr : forall c, incr (op (fun x => x + c)).
Proof. intros c. apply op_incr. intros x x' H. lra. Qed.

Lemma fma_op_incr : forall a c, 0 <= a -> incr (op (fun x => x * a + c)).
Proof. intros a c Ha. apply op_incr. intros x x' H. nra. Qed.

Lemma fma_op_decr : forall a c, a <= 0 -> decr (op (fun x => x * a + c)).
Proof. intros a c Ha. apply op_decr. intros x x' H. nra. Qed.

(** The flushed recipes, for sets A of multipliers (alpha, or s') and B of addends
    (beta', b'), and for the fallback sets M (mu), I (inv > 0 or flushed), G (g), Bb (b). *)
Definition fast_unfused (A B : R -> Prop) : rel :=
  union A (fun a => comp (op (fun x => x * a)) (union B (fun b => op (fun y => y + b)))).
Definition fast_fused (A B : R -> Prop) : rel :=
  union A (fun a => union B (fun b => op (fun x => x * a + b))).
Definition fallback_unfused (M I G Bb : R -> Prop) : rel :=
  union M (fun m => comp (op (fun x => x - m))
    (union I (fun i => comp (op (fun d => d * i))
      (union G (fun g => comp (op (fun t => t * g)) (union Bb (fun b => op (fun y => y + b)))))))).
Definition fallback_fused (M I G Bb : R -> Prop) : rel :=
  union M (fun m => comp (op (fun x => x - m))
    (union I (fun i => comp (op (fun d => d * i))
      (union G (fun g => union Bb (fun b => op (fun t => t * g + b))))))).

(** All multipliers of a set share one sign. *)
Definition one_sign (A : R -> Prop) := (forall a, A a -> 0 <= a) \/ (forall a, A a -> a <= 0).

Lemma addends_incr : forall B, incr (union B (fun b => op (fun y => y + b))).
Proof. intros B. apply union_incr. intros b _. apply add_op_incr. Qed.

Lemma scaled_mono : forall (A : R -> Prop) (Q : R -> rel), one_sign A ->
  (forall a, A a -> incr (Q a)) ->
  mono (union A (fun a => comp (op (fun x => x * a)) (Q a))).
Proof.
intros A Q [HA|HA] HQ; [left; apply union_incr|right; apply union_decr]; intros a Ha.
- apply comp_ii; [apply mul_op_mono_sign, HA, Ha|apply HQ, Ha].
- apply comp_di; [apply mul_op_mono_sign_neg, HA, Ha|apply HQ, Ha].
Qed.

(** deployed.rs flushed_outputs / Consts::outputs under the flush model: for l <= x <= h,
    every flushed output at x lies between a flushed output at l and one at h (so between
    the least and the greatest of the endpoints' outputs, which the code computes). *)
Theorem flushed_recipes_between_endpoints :
  forall (A B M I G Bb : R -> Prop) (l x h y : R), one_sign A -> (forall i, I i -> 0 <= i) -> one_sign G ->
  l <= x <= h ->
  (fast_unfused A B x y \/ fast_fused A B x y ->
   exists yl yh, (fast_unfused A B l yl \/ fast_fused A B l yl) /\
                 (fast_unfused A B h yh \/ fast_fused A B h yh) /\
                 Rmin yl yh <= y <= Rmax yl yh) /\
  (fallback_unfused M I G Bb x y \/ fallback_fused M I G Bb x y ->
   exists yl yh, (fallback_unfused M I G Bb l yl \/ fallback_fused M I G Bb l yl) /\
                 (fallback_unfused M I G Bb h yh \/ fallback_fused M I G Bb h yh) /\
                 Rmin yl yh <= y <= Rmax yl yh).
Proof.
intros A B M I G Bb l x h y HA HI HG Hx.
assert (Mfu : mono (fast_unfused A B)).
{ apply scaled_mono; [exact HA|]. intros a _. apply addends_incr. }
assert (Mff : mono (fast_fused A B)).
{ destruct HA as [HA|HA]; [left; apply union_incr|right; apply union_decr]; intros a Ha;
    [apply union_incr|apply union_decr]; intros b _;
    [apply fma_op_incr|apply fma_op_decr]; auto. }
(* the fallback: x - m increasing, then *inv (inv >= 0), then *g and +b (or the FMA) *)
assert (Tail_u : mono (union G (fun g => comp (op (fun t => t * g))
                         (union Bb (fun b => op (fun y => y + b)))))).
{ apply scaled_mono; [exact HG|]. intros g _. apply addends_incr. }
assert (Tail_f : mono (union G (fun g => union Bb (fun b => op (fun t => t * g + b))))).
{ destruct HG as [HG|HG]; [left; apply union_incr|right; apply union_decr]; intros g Hg;
    [apply union_incr|apply union_decr]; intros b _;
    [apply fma_op_incr|apply fma_op_decr]; auto. }
assert (Fall : forall T : rel, mono T ->
  mono (union M (fun m => comp (op (fun x => x - m))
          (union I (fun i => comp (op (fun d => d * i)) T))))).
{ intros T [HT|HT]; [left; apply union_incr|right; apply union_decr]; intros m _;
    [apply comp_ii|apply comp_id]; try (apply op_incr; intros u u' Hu; lra);
    [apply union_incr|apply union_decr]; intros i Hi;
    [apply comp_ii|apply comp_id]; try (apply mul_op_mono_sign, HI, Hi); exact HT. }
assert (Mbu := Fall _ Tail_u). assert (Mbf := Fall _ Tail_f).
split; intros [Hy|Hy].
- destruct (mono_between _ l x h y Mfu Hx Hy) as [yl [yh [Pl [Ph H]]]].
  exists yl, yh; split; [left; exact Pl|split; [left; exact Ph|exact H]].
- destruct (mono_between _ l x h y Mff Hx Hy) as [yl [yh [Pl [Ph H]]]].
  exists yl, yh; split; [right; exact Pl|split; [right; exact Ph|exact H]].
- destruct (mono_between _ l x h y Mbu Hx Hy) as [yl [yh [Pl [Ph H]]]].
  exists yl, yh; split; [left; exact Pl|split; [left; exact Ph|exact H]].
- destruct (mono_between _ l x h y Mbf Hx Hy) as [yl [yh [Pl [Ph H]]]].
  exists yl, yh; split; [right; exact Pl|split; [right; exact Ph|exact H]].
Qed.

End Flush.

Print Assumptions flushed_recipes_between_endpoints.
