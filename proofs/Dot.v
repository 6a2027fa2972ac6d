(** * The back-substitution bias

    [OffsetDotJob] (src/kernel/loops.rs) bounds  d + sum_j Lam_j * q_j  over
    Lam_j in [lo_j, hi_j] and q_j in [ql_j, qh_j] (q_j of known sign). Each of the eight (or
    four) lanes accumulates its terms j = k, k + 8, ... from 0: for the lower bound the term
    uses a = lo_j (q >= 0) or hi_j (q <= 0) and the end qa of q chosen by the sign of a; the
    step is RD(qa*a + acc) (avx512::dot, mxcsr::dot: Directed.v's fma_down_le) or
    lane_below(lane_fma_for_below(qa, a, acc)) (partial_dot: Lanes.v's
    lane_fma_for_below_le). The lanes are then added to d_lo by add_down. Proved here:
    every lane is <= the exact sum of its terms' minima, hence the combined sum is <= the
    exact bias for every Lam and q in the box, first for any add_down with
    add_down(x, y) <= x + y (dot_bias_bounds, partial_dot_bias_bounds), then with
    round/mod.rs's own add_down/add_up on floats (offset_dot_bounds, by Add.v); and the
    mirror for the upper bound. *)

From Coq Require Import Reals Lia Lra Psatz List.
From Flocq Require Import Core.
From BnboundProofs Require Import Directed Lanes Add.
Import ListNotations.
Open Scope R_scope.

(** ** Accumulating bounded steps *)

Section Accumulate.

Variable A : Type.
Variable value : A -> R.

Fixpoint run (step : A -> R -> R) (c : R) (l : list A) : R :=
  match l with nil => c | t :: l' => run step (step t c) l' end.

Fixpoint total (l : list A) : R :=
  match l with nil => 0 | t :: l' => value t + total l' end.

Lemma run_le :
  forall step, (forall t c, step t c <= value t + c) ->
  forall l c, run step c l <= c + total l.
Proof.
intros step Hs l; induction l as [|t l IH]; intros c; simpl; [lra|].
specialize (IH (step t c)); specialize (Hs t c); lra.
Qed.

Lemma run_ge :
  forall step, (forall t c, value t + c <= step t c) ->
  forall l c, c + total l <= run step c l.
Proof.
intros step Hs l; induction l as [|t l IH]; intros c; simpl; [lra|].
specialize (IH (step t c)); specialize (Hs t c); lra.
Qed.

End Accumulate.

Arguments run {A}.
Arguments total {A}.

(** ** One term: the box, the code's choice of corners *)

Record term := {
  lo : R; hi : R;         (* Lam in [lo, hi] *)
  ql : R; qh : R;         (* q in [ql, qh] *)
  lam : R; q : R;         (* any point of the box: the exact values *)
  qneg : bool;            (* the code's "q is negative" (sign bit of qh) *)
  apos : bool;            (* the code's "a >= 0" (or sign bit of a clear) *)
  bpos : bool             (* the code's "b >= 0" *)
}.

Definition a (t : term) := if qneg t then hi t else lo t.
Definition b (t : term) := if qneg t then lo t else hi t.
Definition qa (t : term) := if apos t then ql t else qh t.
Definition qb (t : term) := if bpos t then qh t else ql t.

Definition valid (t : term) :=
  lo t <= lam t <= hi t /\ ql t <= q t <= qh t /\
  (qneg t = true -> qh t <= 0) /\ (qneg t = false -> 0 <= ql t) /\
  (apos t = true -> 0 <= a t) /\ (apos t = false -> a t <= 0) /\
  (bpos t = true -> 0 <= b t) /\ (bpos t = false -> b t <= 0).

Definition exact (t : term) := lam t * q t.

(** The chosen corners bound the product over the box (partial_dot's a, qa, b, qb). *)
Lemma corner_le : forall t, valid t -> qa t * a t <= exact t.
Proof.
intros t (Hl & Hq & Hn & Hp & Ha & Ha' & _).
unfold qa, a, exact in *.
destruct (qneg t), (apos t);
  try (specialize (Hn eq_refl)); try (specialize (Hp eq_refl));
  try (specialize (Ha eq_refl)); try (specialize (Ha' eq_refl)); nra.
Qed.

Lemma corner_ge : forall t, valid t -> exact t <= qb t * b t.
Proof.
intros t (Hl & Hq & Hn & Hp & _ & _ & Hb & Hb').
unfold qb, b, exact in *.
destruct (qneg t), (bpos t);
  try (specialize (Hn eq_refl)); try (specialize (Hp eq_refl));
  try (specialize (Hb eq_refl)); try (specialize (Hb' eq_refl)); nra.
Qed.

(** ** The steps of the three kernels *)

Notation fexp64 := (FLT_exp (-1074) 53).
Notation RD64 := (round radix2 fexp64 Zfloor).
Notation RU64 := (round radix2 fexp64 Zceil).

(** avx512::dot and mxcsr::dot: fma_down(qa, a, acc), fma_up(qb, b, acc). *)
Definition step_rd (t : term) (c : R) := RD64 (qa t * a t + c).
Definition step_ru (t : term) (c : R) := RU64 (qb t * b t + c).

Section Lane.
Variable choice : Z -> bool.
Notation RN64 := (round radix2 fexp64 (Znearest choice)).
(** partial_dot with FMA: lane_below(RN(qa*a + acc)), lane_above(-RN(-qb*b - acc)). *)
Definition step_lane (t : term) (c : R) :=
  let r := RN64 (qa t * a t + c) in RN64 (r - RN64 (phi64 * Rabs r + eta64g r)).
Definition step_lane_up (t : term) (c : R) :=
  let r := - RN64 (- qb t * b t + - c) in
  - RN64 (- r - RN64 (phi64 * Rabs (- r) + eta64g (- r))).
(** partial_dot without FMA (two roundings, product stepped down before the sum). *)
Definition step_lane_nofma (t : term) (c : R) :=
  let p := RN64 (qa t * a t) in
  let l := RN64 (p - RN64 (RN64 (phi64 * Rabs p) + eta64g p)) in
  let r := RN64 (l + c) in
  RN64 (r - RN64 (RN64 (phi64 * Rabs r) + eta64g r)).
Definition step_lane_nofma_up (t : term) (c : R) :=
  let p := RN64 (- qb t * b t) in
  let l := RN64 (p - RN64 (RN64 (phi64 * Rabs p) + eta64g p)) in
  let r := - RN64 (l + - c) in
  - RN64 (- r - RN64 (RN64 (phi64 * Rabs (- r)) + eta64g (- r))).
End Lane.

Definition all_valid (lanes : list (list term)) := Forall (Forall valid) lanes.

(** The step bounds, on valid terms (the accumulation lemma needs them for all terms, so
    the terms are restricted by a sigma type in the main theorems below). *)
Lemma step_rd_le : forall t c, valid t -> step_rd t c <= exact t + c.
Proof.
intros t c Ht; unfold step_rd.
destruct (fma_down_le (qa t) (a t) c) as [H _].
generalize (corner_le t Ht); lra.
Qed.

Lemma step_ru_ge : forall t c, valid t -> exact t + c <= step_ru t c.
Proof.
intros t c Ht; unfold step_ru.
destruct (fma_up_ge (qb t) (b t) c) as [_ [H _]].
generalize (corner_ge t Ht); lra.
Qed.

Lemma step_lane_le : forall ch t c, valid t -> step_lane ch t c <= exact t + c.
Proof.
intros ch t c Ht; unfold step_lane.
destruct (lane_fma_for_below_le ch (qa t) (a t) c) as [H _].
simpl in H. generalize (corner_le t Ht); lra.
Qed.

Lemma step_lane_up_ge : forall ch t c, valid t -> exact t + c <= step_lane_up ch t c.
Proof.
intros ch t c Ht; unfold step_lane_up.
destruct (lane_fma_for_above_ge ch (qb t) (b t) c) as [H _].
simpl in H. generalize (corner_ge t Ht); lra.
Qed.

Lemma step_lane_nofma_le : forall ch t c, valid t -> step_lane_nofma ch t c <= exact t + c.
Proof.
intros ch t c Ht; unfold step_lane_nofma.
destruct (lane_fma_for_below_le ch (qa t) (a t) c) as [_ H].
simpl in H. generalize (corner_le t Ht); lra.
Qed.

Lemma step_lane_nofma_up_ge :
  forall ch t c, valid t -> exact t + c <= step_lane_nofma_up ch t c.
Proof.
intros ch t c Ht; unfold step_lane_nofma_up.
destruct (lane_fma_for_above_ge ch (qb t) (b t) c) as [_ H].
simpl in H. generalize (corner_ge t Ht); lra.
Qed.

(** Accumulation restricted to valid terms. *)
Lemma run_le_valid :
  forall step, (forall t c, valid t -> step t c <= exact t + c) ->
  forall l c, Forall valid l -> run step c l <= c + total exact l.
Proof.
intros step Hs l; induction l as [|t l IH]; intros c Hl; simpl; [lra|].
inversion Hl as [|? ? Ht Hl']; subst.
specialize (IH (step t c) Hl'); specialize (Hs t c Ht); lra.
Qed.

Lemma run_ge_valid :
  forall step, (forall t c, valid t -> exact t + c <= step t c) ->
  forall l c, Forall valid l -> c + total exact l <= run step c l.
Proof.
intros step Hs l; induction l as [|t l IH]; intros c Hl; simpl; [lra|].
inversion Hl as [|? ? Ht Hl']; subst.
specialize (IH (step t c) Hl'); specialize (Hs t c Ht); lra.
Qed.

(** The lanes, each accumulated from 0, added to d_lo by an add_down that is <= the sum. *)
Definition combine (add : R -> R -> R) (step : term -> R -> R) (d : R)
    (lanes : list (list term)) :=
  fold_left (fun s lane => add s (run step 0 lane)) lanes d.

Definition bias (lanes : list (list term)) :=
  fold_right (fun lane s => total exact lane + s) 0 lanes.

Lemma combine_le :
  forall add step,
  (forall x y, add x y <= x + y) ->
  (forall t c, valid t -> step t c <= exact t + c) ->
  forall lanes d, all_valid lanes -> combine add step d lanes <= d + bias lanes.
Proof.
intros add step Hadd Hs lanes; induction lanes as [|ln lanes IH]; intros d Hv;
  unfold combine in *; simpl; [lra|].
inversion Hv as [|? ? Hln Hrest]; subst.
specialize (IH (add d (run step 0 ln)) Hrest).
assert (H1 := run_le_valid step Hs ln 0 Hln).
specialize (Hadd d (run step 0 ln)).
lra.
Qed.

Lemma combine_ge :
  forall add step,
  (forall x y, x + y <= add x y) ->
  (forall t c, valid t -> exact t + c <= step t c) ->
  forall lanes d, all_valid lanes -> d + bias lanes <= combine add step d lanes.
Proof.
intros add step Hadd Hs lanes; induction lanes as [|ln lanes IH]; intros d Hv;
  unfold combine in *; simpl; [lra|].
inversion Hv as [|? ? Hln Hrest]; subst.
specialize (IH (add d (run step 0 ln)) Hrest).
assert (H1 := run_ge_valid step Hs ln 0 Hln).
specialize (Hadd d (run step 0 ln)).
lra.
Qed.

(** avx512::dot and mxcsr::dot, combined in OffsetDotJob::run: the lower bias bound is
    <= d_lo + the exact sum, the upper >= d_hi + the exact sum, for every point of the box,
    given add_down(x, y) <= x + y <= add_up(x, y). *)
Theorem dot_bias_bounds :
  forall add_down add_up,
  (forall x y, add_down x y <= x + y) -> (forall x y, x + y <= add_up x y) ->
  forall lanes d_lo d_hi, all_valid lanes ->
  combine add_down step_rd d_lo lanes <= d_lo + bias lanes /\
  d_hi + bias lanes <= combine add_up step_ru d_hi lanes.
Proof.
intros add_down add_up Hd Hu lanes d_lo d_hi Hv; split.
- apply combine_le; auto. exact step_rd_le.
- apply combine_ge; auto. exact step_ru_ge.
Qed.

(** partial_dot (OffsetDotJob without AVX-512 or MXCSR), with and without FMA. *)
Theorem partial_dot_bias_bounds :
  forall choice add_down add_up,
  (forall x y, add_down x y <= x + y) -> (forall x y, x + y <= add_up x y) ->
  forall lanes d_lo d_hi, all_valid lanes ->
  combine add_down (step_lane choice) d_lo lanes <= d_lo + bias lanes /\
  d_hi + bias lanes <= combine add_up (step_lane_up choice) d_hi lanes /\
  combine add_down (step_lane_nofma choice) d_lo lanes <= d_lo + bias lanes /\
  d_hi + bias lanes <= combine add_up (step_lane_nofma_up choice) d_hi lanes.
Proof.
intros ch add_down add_up Hd Hu lanes d_lo d_hi Hv; repeat split.
- apply combine_le; auto. exact (step_lane_le ch).
- apply combine_ge; auto. exact (step_lane_up_ge ch).
- apply combine_le; auto. exact (step_lane_nofma_le ch).
- apply combine_ge; auto. exact (step_lane_nofma_up_ge ch).
Qed.

(** ** Hypothesis A discharged: with round/mod.rs's add_down/add_up (Add.v) *)

Notation F64 := (generic_format radix2 fexp64).

Lemma run_format :
  forall (step : term -> R -> R), (forall t c, F64 (step t c)) ->
  forall l c, F64 c -> F64 (run step c l).
Proof.
intros step Hs l; induction l as [|t l IH]; intros c Hc; simpl; auto.
Qed.

Lemma combine_le_F :
  forall add step,
  (forall x y, F64 x -> F64 y -> add x y <= x + y) -> (forall x y, F64 (add x y)) ->
  (forall t c, valid t -> step t c <= exact t + c) -> (forall t c, F64 (step t c)) ->
  forall lanes d, F64 d -> all_valid lanes -> combine add step d lanes <= d + bias lanes.
Proof.
intros add step Hadd Haf Hs Hsf lanes; induction lanes as [|ln lanes IH]; intros d Fd Hv;
  unfold combine in *; simpl; [lra|].
inversion Hv as [|? ? Hln Hrest]; subst.
specialize (IH (add d (run step 0 ln)) (Haf _ _) Hrest).
assert (H1 := run_le_valid step Hs ln 0 Hln).
assert (F0 : F64 (run step 0 ln)) by (apply run_format; auto; apply generic_format_0).
specialize (Hadd d (run step 0 ln) Fd F0).
lra.
Qed.

Lemma combine_ge_F :
  forall add step,
  (forall x y, F64 x -> F64 y -> x + y <= add x y) -> (forall x y, F64 (add x y)) ->
  (forall t c, valid t -> exact t + c <= step t c) -> (forall t c, F64 (step t c)) ->
  forall lanes d, F64 d -> all_valid lanes -> d + bias lanes <= combine add step d lanes.
Proof.
intros add step Hadd Haf Hs Hsf lanes; induction lanes as [|ln lanes IH]; intros d Fd Hv;
  unfold combine in *; simpl; [lra|].
inversion Hv as [|? ? Hln Hrest]; subst.
specialize (IH (add d (run step 0 ln)) (Haf _ _) Hrest).
assert (H1 := run_ge_valid step Hs ln 0 Hln).
assert (F0 : F64 (run step 0 ln)) by (apply run_format; auto; apply generic_format_0).
specialize (Hadd d (run step 0 ln) Fd F0).
lra.
Qed.

Lemma add_up_format : forall ch x y, F64 (add_up ch x y).
Proof.
intros ch x y; unfold add_up.
replace (0 - add_down ch (- x) (- y)) with (- add_down ch (- x) (- y)) by ring.
apply generic_format_opp, add_down_format.
Qed.

(** OffsetDotJob::run's partial sums and their combination, every step as the code does
    it: the lanes by avx512::dot / mxcsr::dot (RD/RU FMAs) or partial_dot (lane steps,
    with or without FMA), added to the float d_lo (d_hi) by round/mod.rs's add_down
    (add_up). Round-to-nearest with a symmetric tie rule (Rust's ties-to-even). *)
Theorem offset_dot_bounds :
  forall choice : Z -> bool, (forall z : Z, choice z = negb (choice (- (z + 1))%Z)) ->
  forall lanes d_lo d_hi, F64 d_lo -> F64 d_hi -> all_valid lanes ->
  combine (add_down choice) step_rd d_lo lanes <= d_lo + bias lanes /\
  d_hi + bias lanes <= combine (add_up choice) step_ru d_hi lanes /\
  combine (add_down choice) (step_lane choice) d_lo lanes <= d_lo + bias lanes /\
  d_hi + bias lanes <= combine (add_up choice) (step_lane_up choice) d_hi lanes /\
  combine (add_down choice) (step_lane_nofma choice) d_lo lanes <= d_lo + bias lanes /\
  d_hi + bias lanes <= combine (add_up choice) (step_lane_nofma_up choice) d_hi lanes.
Proof.
intros ch Hch lanes d_lo d_hi Fl Fh Hv.
assert (Hd : forall x y, F64 x -> F64 y -> add_down ch x y <= x + y)
  by (intros; apply add_down_le; auto).
assert (Hu : forall x y, F64 x -> F64 y -> x + y <= add_up ch x y)
  by (intros; apply add_up_ge; auto).
assert (Hdf := add_down_format ch). assert (Huf := add_up_format ch).
assert (Fr : forall rnd { V : Valid_rnd rnd } x, F64 (round radix2 fexp64 rnd x))
  by (intros; apply generic_format_round; auto with typeclass_instances).
assert (Fo : forall x, F64 x -> F64 (- x)) by (intros; apply generic_format_opp; auto).
repeat split.
- apply combine_le_F; auto. exact step_rd_le. intros; apply Fr; auto with typeclass_instances.
- apply combine_ge_F; auto. exact step_ru_ge. intros; apply Fr; auto with typeclass_instances.
- apply combine_le_F; auto. exact (step_lane_le ch).
  intros; apply Fr; auto with typeclass_instances.
- apply combine_ge_F; auto. exact (step_lane_up_ge ch).
  intros; unfold step_lane_up; apply Fo, Fr; auto with typeclass_instances.
- apply combine_le_F; auto. exact (step_lane_nofma_le ch).
  intros; apply Fr; auto with typeclass_instances.
- apply combine_ge_F; auto. exact (step_lane_nofma_up_ge ch).
  intros; unfold step_lane_nofma_up; apply Fo, Fr; auto with typeclass_instances.
Qed.

Print Assumptions offset_dot_bounds.
Print Assumptions dot_bias_bounds.
Print Assumptions partial_dot_bias_bounds.
