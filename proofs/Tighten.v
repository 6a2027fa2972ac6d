(** * exact::tighten and the portable channel enclosure after it

    exact/dyadic.rs [tighten(lo, hi, cmp)]: infinite endpoints, or lo == hi, are returned
    unchanged; otherwise a = ordinal(lo), b = ordinal(hi) (in i128) and, while b - a > 1,
    mid = a + (b - a)/2, y = from_ordinal_f64(mid): cmp(y) = Less sets a = mid, Greater
    sets b = mid, Equal returns (y, y); at the end (fa, fa) if cmp(fa) = Equal, else
    (fb, fb) if cmp(fb) = Equal, else (fa, fb).

    The model:
    - [cmp y] is [Rcompare y r], the true ordering of y against the real r (the contract of
      the exact module: rational arithmetic on the dyadic values);
    - the ordinals: [fo k] is the k-th binary64 from 0 ([succ] applied k times for k >= 0,
      its negation for k < 0). [fo] is strictly increasing, [fo (k + 1) = succ (fo k)], and
      every binary64 is [fo k] for exactly one k (proved here, in Flocq's unbounded FLT
      model). That from_ordinal_f64 is [fo] on [-ord(MAX), ord(MAX)] and ordinal its
      inverse (consecutive bit patterns of one sign are consecutive floats; -0.0 has
      ordinal 0) is the IEEE 754 encoding, taken as given;
    - the while loop: [search] with fuel; [search_fuel] proves that every fuel >= b - a
      gives the same result (the loop never runs out: b - a decreases at each step), so
      [search (b - a)] is the loop's value. i128 holds every ordinal difference (no
      overflow in the model: Z). *)

From Coq Require Import Reals Lia Lra ZArith.
From Flocq Require Import Core.
From BnboundProofs Require Import Add Mul Channel.
Open Scope R_scope.

Notation fexp64 := (FLT_exp (-1074) 53).
Notation F64 := (generic_format radix2 fexp64).
Local Notation succ := (succ radix2 fexp64).
Local Notation pred := (pred radix2 fexp64).

(** ** Ordinals *)

Fixpoint up (n : nat) : R := match n with O => 0 | S n => succ (up n) end.

Definition fo (k : Z) : R :=
  if Z_le_dec 0 k then up (Z.to_nat k) else - up (Z.to_nat (- k)).

Lemma up_format : forall n, F64 (up n).
Proof.
induction n as [|n IH]; simpl; [apply generic_format_0|].
apply generic_format_succ; auto with typeclass_instances.
Qed.

Lemma fo_format : forall k, F64 (fo k).
Proof.
intros k; unfold fo; destruct Z_le_dec; [|apply generic_format_opp]; apply up_format.
Qed.

Lemma fo_neg : forall k, (k <= 0)%Z -> fo k = - up (Z.to_nat (- k)).
Proof.
intros k Hk; unfold fo; destruct Z_le_dec; [|reflexivity].
replace k with 0%Z by lia. simpl. lra.
Qed.

Lemma fo_succ : forall k, fo (k + 1) = succ (fo k).
Proof.
intros k. destruct (Z_le_dec 0 k) as [Hk|Hk].
- unfold fo. destruct (Z_le_dec 0 (k + 1)); [|lia]. destruct (Z_le_dec 0 k); [|lia].
  rewrite Z2Nat.inj_add by lia. rewrite Nat.add_1_r. reflexivity.
- rewrite (fo_neg k) by lia. rewrite (fo_neg (k + 1)) by lia.
  replace (Z.to_nat (- k)) with (S (Z.to_nat (- (k + 1)))) by lia.
  simpl. rewrite succ_opp, pred_succ; [reflexivity|auto with typeclass_instances|].
  apply up_format.
Qed.

Lemma succ_gt : forall x, x < succ x.
Proof.
intros x. destruct (Req_dec x 0) as [->|Hx].
- rewrite succ_0, ulp_FLT_0 by (easy || lia). apply bpow_gt_0.
- apply succ_gt_id; exact Hx.
Qed.

Lemma fo_lt_aux : forall a n, fo a < fo (a + Z.of_nat (S n)).
Proof.
intros a n. induction n as [|n IH].
- replace (a + Z.of_nat 1)%Z with (a + 1)%Z by lia. rewrite fo_succ. apply succ_gt.
- replace (a + Z.of_nat (S (S n)))%Z with ((a + Z.of_nat (S n)) + 1)%Z by lia.
  rewrite fo_succ. apply Rlt_trans with (1 := IH). apply succ_gt.
Qed.

Lemma fo_lt : forall a b, (a < b)%Z -> fo a < fo b.
Proof.
intros a b H. replace b with (a + Z.of_nat (S (Z.to_nat (b - a - 1))))%Z by lia.
apply fo_lt_aux.
Qed.

Lemma fo_le_inv : forall a b, fo a <= fo b -> (a <= b)%Z.
Proof.
intros a b H. destruct (Z_le_gt_dec a b) as [|Hg]; [assumption|].
assert (fo b < fo a) by (apply fo_lt; lia). lra.
Qed.

Lemma fo_inj : forall a b, fo a = fo b -> a = b.
Proof. intros a b H. apply Z.le_antisymm; apply fo_le_inv; lra. Qed.

(** Every nonnegative binary64 is reached from 0 by [succ]: induction on its multiple of
    2^-1074 (pred x is a smaller multiple, and succ (pred x) = x). *)
Lemma up_onto :
  forall N x, F64 x -> 0 <= x -> x <= INR N * bpow radix2 (-1074) -> exists n, up n = x.
Proof.
assert (Hη : 0 < bpow radix2 (-1074)) by apply bpow_gt_0.
induction N as [|N IH]; intros x Fx Hx HN.
- exists O. simpl in *. lra.
- destruct (Req_dec x 0) as [H0|H0]; [exists O; simpl; lra|].
  assert (Fp : F64 (pred x)) by (apply generic_format_pred; auto with typeclass_instances).
  assert (Hp0 : 0 <= pred x).
  { apply pred_ge_gt; auto with typeclass_instances. apply generic_format_0. lra. }
  assert (Hpx : pred x < x) by (apply pred_lt_id; exact H0).
  destruct (F64_multiple x Fx) as [nx Hnx].
  destruct (F64_multiple (pred x) Fp) as [np Hnp].
  assert (Hlt : (np < nx)%Z).
  { apply lt_IZR. apply Rmult_lt_reg_r with (1 := Hη). lra. }
  assert (Hle : (nx <= Z.of_nat (S N))%Z).
  { apply le_IZR. rewrite <- INR_IZR_INZ. apply Rmult_le_reg_r with (1 := Hη). lra. }
  destruct (IH (pred x) Fp Hp0) as [n Hn].
  { rewrite Hnp, INR_IZR_INZ. apply Rmult_le_compat_r; [lra|]. apply IZR_le.
    rewrite Nat2Z.inj_succ in Hle. lia. }
  exists (S n). simpl. rewrite Hn. apply succ_pred; auto with typeclass_instances.
Qed.

(** Every binary64 has an ordinal (unique by [fo_inj]). *)
Theorem fo_onto : forall x, F64 x -> exists k, fo k = x.
Proof.
assert (Pos : forall x, F64 x -> 0 <= x -> exists n, up n = x).
{ intros x Fx Hx. destruct (F64_multiple x Fx) as [nx Hnx].
  assert (Hη : 0 < bpow radix2 (-1074)) by apply bpow_gt_0.
  apply (up_onto (Z.to_nat nx)); [exact Fx|exact Hx|].
  rewrite INR_IZR_INZ, Hnx. apply Rmult_le_compat_r; [lra|]. apply IZR_le.
  assert (0 <= IZR nx).
  { apply Rmult_le_reg_r with (1 := Hη). lra. }
  apply le_IZR in H. lia. }
intros x Fx. destruct (Rle_or_lt 0 x) as [Hx|Hx].
- destruct (Pos x Fx Hx) as [n Hn]. exists (Z.of_nat n).
  unfold fo. destruct Z_le_dec; [|lia]. rewrite Nat2Z.id. exact Hn.
- destruct (Pos (- x) (generic_format_opp _ _ _ Fx) ltac:(lra)) as [n Hn].
  exists (- Z.of_nat n)%Z. rewrite fo_neg by lia.
  replace (- - Z.of_nat n)%Z with (Z.of_nat n) by lia. rewrite Nat2Z.id, Hn. lra.
Qed.

(** ** The binary search *)

Section Search.

Variable r : R.

Definition cmp (y : R) : comparison := Rcompare y r.

Definition finish (a b : Z) : R * R :=
  let fa := fo a in let fb := fo b in
  match cmp fa with
  | Eq => (fa, fa)
  | _ => match cmp fb with Eq => (fb, fb) | _ => (fa, fb) end
  end.

Fixpoint search (fuel : nat) (a b : Z) : R * R :=
  match fuel with
  | O => finish a b
  | S n =>
    if Z_lt_dec 1 (b - a) then
      let mid := (a + (b - a) / 2)%Z in
      let y := fo mid in
      match cmp y with
      | Lt => search n mid b
      | Gt => search n a mid
      | Eq => (y, y)
      end
    else finish a b
  end.

(** [tighten lo hi ka kb] for finite lo, hi with ordinals ka, kb. *)
Definition tighten (lo hi : R) (ka kb : Z) : R * R :=
  if Req_EM_T lo hi then (lo, hi) else search (Z.to_nat (kb - ka)) ka kb.

(** The tightest enclosure of r in binary64: both ends floats, x <= r <= z, x the largest
    float <= r, z the smallest >= r (so x = z = r when r is a float). *)
Definition tight (p : R * R) :=
  F64 (fst p) /\ F64 (snd p) /\ fst p <= r <= snd p /\
  (forall y, F64 y -> y <= r -> y <= fst p) /\ (forall y, F64 y -> r <= y -> snd p <= y).

Lemma tight_eq : forall x, F64 x -> x = r -> tight (x, x).
Proof.
intros x Fx <-. unfold tight; simpl.
split; [exact Fx|]. split; [exact Fx|]. split; [lra|]. split; intros y _ Hy; lra.
Qed.

Lemma mid_bounds : forall a b, (1 < b - a)%Z ->
  (a < a + (b - a) / 2 < b)%Z.
Proof.
intros a b H.
assert (D := Z.div_mod (b - a) 2 ltac:(lia)).
assert (M := Z.mod_pos_bound (b - a) 2 ltac:(lia)).
lia.
Qed.

Lemma finish_tight : forall a b, (a <= b <= a + 1)%Z -> fo a <= r <= fo b ->
  tight (finish a b).
Proof.
intros a b Hab Hr. unfold finish, cmp.
destruct (Rcompare_spec (fo a) r) as [Ha|Ha|Ha].
2: { apply tight_eq; [apply fo_format|exact Ha]. }
2: { lra. }
destruct (Rcompare_spec (fo b) r) as [Hb|Hb|Hb].
{ lra. }
{ apply tight_eq; [apply fo_format|exact Hb]. }
assert (Eb : b = (a + 1)%Z).
{ destruct (Z.eq_dec b a) as [->|]; [lra|lia]. }
assert (Hs : fo b = succ (fo a)) by (rewrite Eb; apply fo_succ).
repeat split; simpl; try apply fo_format; try lra.
- intros y Fy Hy. destruct (Rle_or_lt y (fo a)) as [|Hlt]; [assumption|].
  assert (succ (fo a) <= y)
    by (apply succ_le_lt; auto with typeclass_instances; apply fo_format).
  lra.
- intros y Fy Hy. destruct (Rle_or_lt (fo b) y) as [|Hlt]; [assumption|].
  assert (succ (fo a) <= y)
    by (apply succ_le_lt; auto with typeclass_instances; [apply fo_format|lra]).
  lra.
Qed.

Lemma search_tight : forall n a b, (a <= b)%Z -> fo a <= r <= fo b ->
  (Z.to_nat (b - a) <= n)%nat -> tight (search n a b).
Proof.
induction n as [|n IH]; intros a b Hab Hr Hn.
- simpl. apply finish_tight; [lia|exact Hr].
- simpl. destruct (Z_lt_dec 1 (b - a)) as [Hw|Hw]; [|apply finish_tight; [lia|exact Hr]].
  assert (Hm := mid_bounds a b Hw).
  set (mid := (a + (b - a) / 2)%Z) in *.
  unfold cmp. destruct (Rcompare_spec (fo mid) r) as [Hc|Hc|Hc].
  + apply IH; [lia|lra|lia].
  + apply tight_eq; [apply fo_format|exact Hc].
  + apply IH; [lia|lra|lia].
Qed.

(** The fuel is not a restriction: every fuel >= b - a gives the same result. *)
Theorem search_fuel : forall n m a b, (Z.to_nat (b - a) <= n)%nat ->
  (Z.to_nat (b - a) <= m)%nat -> search n a b = search m a b.
Proof.
induction n as [|n IH]; intros m a b Hn Hm.
- destruct m as [|m]; [reflexivity|]. simpl.
  destruct (Z_lt_dec 1 (b - a)); [lia|reflexivity].
- destruct m as [|m].
  + simpl. destruct (Z_lt_dec 1 (b - a)); [lia|reflexivity].
  + simpl. destruct (Z_lt_dec 1 (b - a)) as [Hw|Hw]; [|reflexivity].
    assert (Hmid := mid_bounds a b Hw).
    destruct (cmp (fo (a + (b - a) / 2))); [reflexivity| |]; apply IH; lia.
Qed.

(** exact/dyadic.rs tighten, finite endpoints: from lo <= r <= hi (binary64, with their
    ordinals), the result is the tightest binary64 enclosure of r. *)
Theorem tighten_tightest :
  forall lo hi ka kb, fo ka = lo -> fo kb = hi -> lo <= r <= hi ->
  tight (tighten lo hi ka kb).
Proof.
intros lo hi ka kb Ha Hb Hr. unfold tighten.
destruct (Req_EM_T lo hi) as [E|E].
- rewrite <- E in *. replace r with lo by lra.
  apply tight_eq; [rewrite <- Ha; apply fo_format|lra].
- assert (Hk : (ka < kb)%Z).
  { assert (ka <= kb)%Z by (apply fo_le_inv; lra).
    destruct (Z.eq_dec ka kb) as [->|]; [|lia]. rewrite Ha in Hb. lra. }
  apply search_tight; [lia|rewrite Ha, Hb; exact Hr|lia].
Qed.

(** With infinite endpoints (returned unchanged, as the code does): the enclosure is kept. *)
Definition tighten_ext (l h : ext) (ka kb : Z) : ext * ext :=
  match l, h with
  | Fin lo, Fin hi => let p := tighten lo hi ka kb in (Fin (fst p), Fin (snd p))
  | _, _ => (l, h)
  end.

Theorem tighten_encloses :
  forall l h ka kb,
  (match l with Fin x => fo ka = x | _ => True end) ->
  (match h with Fin x => fo kb = x | _ => True end) ->
  below l r -> above h r ->
  below (fst (tighten_ext l h ka kb)) r /\ above (snd (tighten_ext l h ka kb)) r.
Proof.
intros l h ka kb Hl Hh Hbl Hah.
destruct l as [lo|pl]; destruct h as [hi|ph]; simpl in *; try easy.
destruct (tighten_tightest lo hi ka kb Hl Hh (conj Hbl Hah)) as [_ [_ [H _]]].
exact H.
Qed.

End Search.

(** ** The portable backend: enclosure.rs Portable::scale_offset, tighten included *)

Section Portable.

Variable choice : Z -> bool.
Hypothesis choice_sym : forall z, choice z = negb (choice (- (z + 1))).
Notation RN64 := (round radix2 fexp64 (Znearest choice)).

Lemma div_down_format : forall a b, F64 (div_down choice a b).
Proof.
intros a b. unfold div_down.
repeat (destruct Req_EM_T || destruct Rle_dec || destruct Rlt_dec);
  try apply generic_format_pred; auto with typeclass_instances;
  apply generic_format_round; auto with typeclass_instances.
Qed.

Lemma div_up_format : forall a b, F64 (div_up choice a b).
Proof.
intros a b. unfold div_up. rewrite Rminus_0_l. apply generic_format_opp, div_down_format.
Qed.

Lemma fma_down_format : forall a b c, F64 c -> F64 (fma_down_portable choice a b c).
Proof.
intros a b c Fc. unfold fma_down_portable.
repeat destruct Req_EM_T; try exact Fc.
apply generic_format_pred; auto with typeclass_instances.
apply generic_format_round; auto with typeclass_instances.
Qed.

(** Every bound of the float enclosure is a binary64 (so it has an ordinal). *)
Lemma scale_offset_format :
  forall g bb m v e, F64 bb ->
  let '((s_lo, s_hi), (o_lo, o_hi)) := scale_offset choice g bb m v e in
  F64 s_lo /\ F64 s_hi /\ F64 o_lo /\ F64 o_hi.
Proof.
intros g bb m v e Fb. unfold scale_offset.
assert (Fs : forall x y, F64 x -> F64 y -> F64 (Rmax x y)) by (intros; apply Rmax_case; auto).
assert (Fi : forall x y, F64 x -> F64 y -> F64 (Rmin x y)) by (intros; apply Rmin_case; auto).
assert (F0 : F64 0) by apply generic_format_0.
repeat (destruct Rlt_dec); simpl;
  (destruct Rle_dec; simpl);
  repeat split;
  try apply Fs; try apply Fi; try apply div_down_format; try apply div_up_format;
  try exact F0;
  try (apply fma_down_format; exact Fb);
  try (rewrite Rminus_0_l; apply generic_format_opp, fma_down_format,
       generic_format_opp; exact Fb).
Qed.

(** The full portable backend: the float enclosure ([scale_offset_encloses]), then
    [tighten] on each of s and o with the exact oracle of the scale and of the offset:
    the ordinals of the four float bounds exist, and with them the results are the
    tightest binary64 enclosures of s = g/sqrt(v + e) and o = bb - m*s (no assumption on
    tighten left), with 0 <= s_lo for g > 0 and s_hi <= 0 for g < 0. *)
Theorem portable_scale_offset_tightest :
  forall g bb m v e, F64 g -> F64 bb -> F64 m -> F64 v -> F64 e ->
  0 <= v -> 0 <= e -> 0 < v + e ->
  let s := g / sqrt (v + e) in
  let '((s_lo, s_hi), (o_lo, o_hi)) := scale_offset choice g bb m v e in
  (exists k1 k2 k3 k4, fo k1 = s_lo /\ fo k2 = s_hi /\ fo k3 = o_lo /\ fo k4 = o_hi) /\
  forall k1 k2 k3 k4, fo k1 = s_lo -> fo k2 = s_hi -> fo k3 = o_lo -> fo k4 = o_hi ->
  tight s (tighten s s_lo s_hi k1 k2) /\
  tight (bb - m * s) (tighten (bb - m * s) o_lo o_hi k3 k4) /\
  (0 < g -> 0 <= fst (tighten s s_lo s_hi k1 k2)) /\
  (g < 0 -> snd (tighten s s_lo s_hi k1 k2) <= 0).
Proof.
intros g bb m v e Fg Fb Fm Fv Fe Hv He Hq s.
assert (Enc := scale_offset_encloses choice choice_sym g bb m v e Fg Fb Fm Fv Fe Hv He Hq).
assert (Fmt := scale_offset_format g bb m v e Fb).
cbv zeta in Enc. fold s in Enc.
destruct (scale_offset choice g bb m v e) as [[s_lo s_hi] [o_lo o_hi]].
destruct Enc as [Hs [Ho _]].
destruct Fmt as [F1 [F2 [F3 F4]]].
split.
{ destruct (fo_onto _ F1) as [k1 H1]. destruct (fo_onto _ F2) as [k2 H2].
  destruct (fo_onto _ F3) as [k3 H3]. destruct (fo_onto _ F4) as [k4 H4].
  exists k1, k2, k3, k4. auto. }
intros k1 k2 k3 k4 H1 H2 H3 H4.
assert (Ts := tighten_tightest s s_lo s_hi k1 k2 H1 H2 Hs).
assert (To := tighten_tightest (bb - m * s) o_lo o_hi k3 k4 H3 H4 Ho).
split; [exact Ts|]. split; [exact To|].
destruct Ts as [_ [_ [_ [Tl Th]]]].
assert (F0 : F64 0) by apply generic_format_0.
assert (Hsq : 0 < sqrt (v + e)) by (apply sqrt_lt_R0; exact Hq).
split; intros Hg.
- apply Tl; [exact F0|]. unfold s. left. apply Rdiv_lt_0_compat; lra.
- apply Th; [exact F0|]. unfold s, Rdiv.
  assert (0 < / sqrt (v + e)) by (apply Rinv_0_lt_compat; lra). nra.
Qed.

End Portable.

Print Assumptions fo_onto.
Print Assumptions search_fuel.
Print Assumptions tighten_tightest.
Print Assumptions tighten_encloses.
Print Assumptions portable_scale_offset_tightest.
