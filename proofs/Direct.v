(** * The direct path of a channel whose enclosure overflows (bnbound issue 23)

    round/mod.rs quot_scaled::<UP>(g, t, k, r): 0 when g = 0 or t = 0; else the splits
    g = gm*2^ge, t = tm*2^te, r = rm*2^re (split_pow2), q = div_up(mul_up(gm, tm), rm)
    (UP) or div_down(mul_down(gm, tm), rm), then ldexp_bound::<UP>(q, ge + te - re + k),
    which splits q = mm*2^me itself and returns +-oo / +-MAX when k + me > 1023 (the
    explicit overflow branch, modelled here with Channel.v's [ext]), else Scaled.v's
    [ldexp_bound] of mm.

    channel.rs direct_at::<OFFSET, UP>(d, x): t = x (no offset) or t = sub(x, m) by
    add_up/add_down (the direction making g*t extreme), the end of [r_lo, r_hi] making
    g*t/r extreme, p = quot_scaled::<UP>(g, t, 0, r), then p (no offset) or add(p, b).

    split_pow2 is a section variable with its specification as a hypothesis (x = m*2^e,
    1 <= |m| < 2, m a binary64, for binary64 x <> 0): its bit manipulation is not
    modelled. Not modelled (returned as [None] by [direct_at]): the code's paths on
    overflow, t = sub(x, m) not finite (halved operands, k = 1), and p infinite with an
    offset (the p_half fallback); they are explicit code outside Flocq's finite model. *)

From Coq Require Import Reals Lia Lra.
From Flocq Require Import Core.
From BnboundProofs Require Import Add Mul Channel Scaled Tighten.
Open Scope R_scope.

Notation fexp64 := (FLT_exp (-1074) 53).
Notation F64 := (generic_format radix2 fexp64).

Section Direct.

Variable choice : Z -> bool.
Hypothesis choice_sym : forall z, choice z = negb (choice (- (z + 1))).
Notation RN64 := (round radix2 fexp64 (Znearest choice)).
Local Notation pred := (pred radix2 fexp64).

Variable split : R -> R * Z.
Hypothesis split_spec : forall x, F64 x -> x <> 0 ->
  x = fst (split x) * bpow (snd (split x)) /\ 1 <= Rabs (fst (split x)) < 2 /\
  F64 (fst (split x)).

Definition MAX := bpow 1024 - bpow 971.

Definition ldexp_full (up : bool) (m : R) (k : Z) : ext :=
  let mm := fst (split m) in
  let k' := (k + snd (split m))%Z in
  if Z_lt_dec 1023 k' then
    (if Rlt_dec 0 mm then (if up then Inf true else Fin MAX)
     else (if up then Fin (- MAX) else Inf false))
  else Fin (ldexp_bound choice up mm k').

Lemma below_mono : forall b y y', below b y -> y <= y' -> below b y'.
Proof. intros [x|[|]] y y' H Hy; simpl in *; try congruence; lra. Qed.

Lemma above_mono : forall b y y', above b y -> y' <= y -> above b y'.
Proof. intros [x|[|]] y y' H Hy; simpl in *; try congruence; lra. Qed.

(** round/mod.rs ldexp_bound, overflow branch included. *)
Lemma ldexp_full_bounds : forall m k, F64 m -> m <> 0 ->
  below (ldexp_full false m k) (m * bpow k) /\ above (ldexp_full true m k) (m * bpow k).
Proof.
intros m k Fm Hm. destruct (split_spec m Fm Hm) as [Hs [Hmm Fmm]].
unfold ldexp_full.
set (mm := fst (split m)) in *. set (me := snd (split m)) in *.
assert (Hv : m * bpow k = mm * bpow (k + me)) by (rewrite Hs, bpow_plus; ring).
rewrite Hv.
destruct (Z_lt_dec 1023 (k + me)) as [Ho|Ho].
- assert (Hb : bpow 1024 <= bpow (k + me)) by (apply bpow_le; lia).
  assert (Hm0 : 0 < bpow 971) by apply bpow_gt_0.
  assert (Hp0 : 0 < bpow (k + me)) by apply bpow_gt_0.
  unfold MAX.
  destruct (Rlt_dec 0 mm) as [Hp|Hn]; cbn [below above].
  + rewrite Rabs_pos_eq in Hmm by lra. split; [|reflexivity].
    assert (bpow (k + me) <= mm * bpow (k + me)) by nra. lra.
  + rewrite Rabs_left1 in Hmm by lra. split; [reflexivity|].
    assert (mm * bpow (k + me) <= - bpow (k + me)) by nra. lra.
- simpl. apply ldexp_bound_bounds; assumption.
Qed.

(** Magnitudes: a value RN(x) or pred(RN(x)) with |x| >= 2^e keeps |.| >= 2^(e-1). *)
Lemma rn_or_pred_mag : forall e x y, (-1073 <= e)%Z -> bpow e <= Rabs x ->
  (y = RN64 x \/ y = pred (RN64 x)) -> bpow (e - 1) <= Rabs y.
Proof.
intros e x y He Hx Hy.
assert (Fe : F64 (bpow e)) by (apply generic_format_FLT_bpow; auto with typeclass_instances; lia).
assert (Fe1 : F64 (bpow (e - 1)))
  by (apply generic_format_FLT_bpow; auto with typeclass_instances; lia).
assert (Hlt : bpow (e - 1) < bpow e) by (apply bpow_lt; lia).
assert (H0 : 0 < bpow (e - 1)) by apply bpow_gt_0.
assert (Fr : F64 (RN64 x)) by (apply generic_format_round; auto with typeclass_instances).
destruct (Rle_or_lt 0 x) as [Hp|Hn].
- rewrite Rabs_pos_eq in Hx by lra.
  assert (Hr : bpow e <= RN64 x) by (apply round_ge_generic; auto with typeclass_instances).
  destruct Hy as [->| ->].
  + rewrite Rabs_pos_eq; lra.
  + assert (bpow (e - 1) <= pred (RN64 x))
      by (apply pred_ge_gt; auto with typeclass_instances; lra).
    rewrite Rabs_pos_eq; lra.
- rewrite Rabs_left in Hx by lra.
  assert (Hr : RN64 x <= - bpow e).
  { apply round_le_generic; auto with typeclass_instances. apply generic_format_opp, Fe. lra. }
  destruct Hy as [->| ->].
  + rewrite Rabs_left; lra.
  + assert (pred (RN64 x) <= RN64 x) by (apply pred_le_id).
    rewrite Rabs_left; lra.
Qed.

Lemma mul_down_mag : forall e a b, (-1073 <= e)%Z -> bpow e <= Rabs (a * b) ->
  bpow (e - 1) <= Rabs (mul_down choice a b).
Proof.
intros e a b He H. assert (0 < bpow e) by apply bpow_gt_0.
unfold mul_down.
destruct (Req_EM_T a 0) as [Ha|Ha]; [subst; rewrite Rmult_0_l, Rabs_R0 in H; lra|].
destruct (Req_EM_T b 0) as [Hb|Hb]; [subst; rewrite Rmult_0_r, Rabs_R0 in H; lra|].
repeat (destruct Rle_dec || destruct Req_EM_T);
  apply (rn_or_pred_mag e (a * b)); auto.
Qed.

Lemma div_down_mag : forall e a b, (-1073 <= e)%Z -> bpow e <= Rabs (a / b) ->
  bpow (e - 1) <= Rabs (div_down choice a b).
Proof.
intros e a b He H. unfold div_down.
repeat (destruct Rle_dec || destruct Req_EM_T || destruct Rlt_dec);
  apply (rn_or_pred_mag e (a / b)); auto.
Qed.

Lemma mul_down_format : forall a b, F64 (mul_down choice a b).
Proof.
intros a b. unfold mul_down.
repeat (destruct Rle_dec || destruct Req_EM_T);
  try apply generic_format_0;
  try apply generic_format_pred; auto with typeclass_instances;
  apply generic_format_round; auto with typeclass_instances.
Qed.

Definition quot_scaled (up : bool) (g t : R) (k : Z) (r : R) : ext :=
  if Req_EM_T g 0 then Fin 0 else if Req_EM_T t 0 then Fin 0 else
  let gm := fst (split g) in let ge := snd (split g) in
  let tm := fst (split t) in let te := snd (split t) in
  let rm := fst (split r) in let re := snd (split r) in
  let q := if up then div_up choice (mul_up choice gm tm) rm
           else div_down choice (mul_down choice gm tm) rm in
  ldexp_full up q (ge + te - re + k).

(** round/mod.rs quot_scaled: its lower and upper bounds enclose g*t*2^k/r, for binary64
    g, t and r > 0 (an infinite bound only on the overflowing side). *)
Theorem quot_scaled_bounds : forall g t k r, F64 g -> F64 t -> F64 r -> 0 < r ->
  below (quot_scaled false g t k r) (g * t * bpow k / r) /\
  above (quot_scaled true g t k r) (g * t * bpow k / r).
Proof.
intros g t k r Fg Ft Fr Hr. unfold quot_scaled.
destruct (Req_EM_T g 0) as [Hg|Hg].
{ subst g. simpl. unfold Rdiv. rewrite !Rmult_0_l. lra. }
destruct (Req_EM_T t 0) as [Ht|Ht].
{ subst t. simpl. unfold Rdiv. rewrite Rmult_0_r, !Rmult_0_l. lra. }
destruct (split_spec g Fg Hg) as [Eg [Mg Fgm]].
destruct (split_spec t Ft Ht) as [Et [Mt Ftm]].
destruct (split_spec r Fr ltac:(lra)) as [Er [Mr Frm]].
set (gm := fst (split g)) in *. set (ge := snd (split g)) in *.
set (tm := fst (split t)) in *. set (te := snd (split t)) in *.
set (rm := fst (split r)) in *. set (re := snd (split r)) in *.
assert (Hre : 0 < bpow re) by apply bpow_gt_0.
assert (Hrm : 0 < rm).
{ destruct (Rle_or_lt rm 0) as [H|H]; [|exact H]. rewrite Er in Hr. nra. }
rewrite Rabs_pos_eq in Mr by lra.
set (E := (ge + te - re + k)%Z).
assert (Hv : g * t * bpow k / r = gm * tm / rm * bpow E).
{ unfold E. rewrite Eg, Et, Er. unfold Z.sub. rewrite !bpow_plus, bpow_opp.
  field. lra. }
rewrite Hv.
assert (HE : 0 < bpow E) by apply bpow_gt_0.
assert (Hgt : bpow 0 <= Rabs (gm * tm)).
{ rewrite Rabs_mult. simpl. nra. }
assert (Fneg : F64 (- gm)) by (apply generic_format_opp; exact Fgm).
assert (Hgt' : bpow 0 <= Rabs (- gm * tm)).
{ rewrite Rabs_mult, Rabs_Ropp. simpl. nra. }
(* |a / rm| >= |a| / 2 *)
assert (Hq : forall a e, bpow e <= Rabs a -> bpow (e - 1) <= Rabs (a / rm)).
{ intros a e Ha. unfold Rdiv. rewrite Rabs_mult, Rabs_inv, (Rabs_pos_eq rm) by lra.
  replace (bpow (e - 1)) with (bpow e * / 2)
    by (unfold Z.sub; rewrite bpow_plus; reflexivity).
  apply Rmult_le_compat; [apply bpow_ge_0|lra|exact Ha|apply Rinv_le_contravar; lra]. }
split.
- (* lower *)
  set (p := mul_down choice gm tm).
  assert (Hp : p <= gm * tm) by (apply mul_down_le; assumption).
  assert (Fp : F64 p) by apply mul_down_format.
  assert (Mp : bpow (0 - 1) <= Rabs p) by (apply mul_down_mag; [lia|exact Hgt]).
  set (q := div_down choice p rm).
  assert (Hq1 : q <= p / rm) by (apply div_down_le; [exact Fp|exact Frm|lra]).
  assert (Mq : bpow (0 - 1 - 1 - 1) <= Rabs q)
    by (apply div_down_mag; [lia|apply Hq; exact Mp]).
  assert (Fq : F64 q) by apply div_down_format.
  assert (Hq0 : q <> 0).
  { intros H0. rewrite H0, Rabs_R0 in Mq. generalize (bpow_gt_0 radix2 (0 - 1 - 1 - 1)). lra. }
  apply below_mono with (q * bpow E).
  + apply ldexp_full_bounds; assumption.
  + apply Rmult_le_compat_r; [lra|].
    apply Rle_trans with (1 := Hq1). unfold Rdiv.
    apply Rmult_le_compat_r; [left; apply Rinv_0_lt_compat; lra|exact Hp].
- (* upper: mul_up = 0 - mul_down(-gm, tm), div_up = 0 - div_down(-p, rm) *)
  set (p := mul_up choice gm tm).
  assert (Hp : gm * tm <= p) by (apply mul_up_ge; assumption).
  assert (Fp : F64 p).
  { unfold p, mul_up. rewrite Rminus_0_l. apply generic_format_opp, mul_down_format. }
  assert (Mp : bpow (0 - 1) <= Rabs p).
  { unfold p, mul_up. rewrite Rminus_0_l, Rabs_Ropp. apply mul_down_mag; [lia|exact Hgt']. }
  set (q := div_up choice p rm).
  assert (Hq1 : p / rm <= q) by (apply div_up_ge; [exact Fp|exact Frm|lra]).
  assert (Mq : bpow (0 - 1 - 1 - 1) <= Rabs q).
  { unfold q, div_up. rewrite Rminus_0_l, Rabs_Ropp. apply div_down_mag; [lia|].
    apply Hq. rewrite Rabs_Ropp. exact Mp. }
  assert (Fq : F64 q) by apply div_up_format.
  assert (Hq0 : q <> 0).
  { intros H0. rewrite H0, Rabs_R0 in Mq. generalize (bpow_gt_0 radix2 (0 - 1 - 1 - 1)). lra. }
  apply above_mono with (q * bpow E).
  + apply ldexp_full_bounds; assumption.
  + apply Rmult_le_compat_r; [lra|].
    apply Rle_trans with (2 := Hq1). unfold Rdiv.
    apply Rmult_le_compat_r; [left; apply Rinv_0_lt_compat; lra|exact Hp].
Qed.

End Direct.

Print Assumptions quot_scaled_bounds.
