(** * The direct path of a channel whose enclosure overflows

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

(** Every finite bound of [quot_scaled] is a binary64. *)
Lemma MAX_format : F64 MAX.
Proof.
apply generic_format_FLT. exists (Float radix2 (2 ^ 53 - 1) 971).
- unfold F2R, MAX; cbn [Fnum Fexp]. rewrite minus_IZR, (IZR_Zpower radix2) by lia.
  replace 1024%Z with (53 + 971)%Z by lia. rewrite bpow_plus. simpl (IZR 1). ring.
- cbn [Fnum]. simpl. lia.
- cbn [Fexp]. lia.
Qed.

Lemma quot_scaled_format : forall up g t k r p, quot_scaled up g t k r = Fin p -> F64 p.
Proof.
intros up g t k r p H. unfold quot_scaled, ldexp_full, ldexp_bound in H.
repeat (destruct Req_EM_T in H); [injection H; intros <-; apply generic_format_0..|].
repeat (destruct Z_lt_dec in H || destruct Rlt_dec in H || destruct Z_le_dec in H ||
        destruct up in H);
  try discriminate; injection H; intros <-.
all: first [ apply MAX_format | apply generic_format_opp, MAX_format
           | apply generic_format_round; auto with typeclass_instances
           | (apply generic_format_succ || apply generic_format_pred);
             auto with typeclass_instances;
             apply generic_format_round; auto with typeclass_instances ].
Qed.

(** ** channel.rs direct_at *)

Definition gpos (g : R) : bool := if Rlt_dec 0 g then true else false.

(** direct_at::<OFFSET, UP>(d, x) with d = (g, b, m, r_lo, r_hi); [None] for the paths not
    modelled (t = x - m overflowing, p infinite with an offset). *)
Definition direct_at (offset up : bool) (g b m r_lo r_hi x : R) : option ext :=
  let t_up := Bool.eqb (gpos g) up in
  let t := if offset then (if t_up then add_up choice x (- m) else add_down choice x (- m))
           else x in
  let positive := Bool.eqb (gpos g) (gpos t) in
  let r := if Bool.eqb positive up then r_lo else r_hi in
  let p := quot_scaled up g t 0 r in
  if offset then
    match p with
    | Fin p0 => Some (Fin (if up then add_up choice p0 b else add_down choice p0 b))
    | Inf _ => None
    end
  else Some p.

Lemma div_pos_le : forall a r1 r2, 0 <= a -> 0 < r1 -> r1 <= r2 -> a / r2 <= a / r1.
Proof.
intros a r1 r2 Ha H1 H2. unfold Rdiv. apply Rmult_le_compat_l; [exact Ha|].
apply Rinv_le_contravar; lra.
Qed.

Lemma div_neg_le : forall a r1 r2, a <= 0 -> 0 < r1 -> r1 <= r2 -> a / r1 <= a / r2.
Proof.
intros a r1 r2 Ha H1 H2. unfold Rdiv.
apply Rmult_le_compat_neg_l; [exact Ha|]. apply Rinv_le_contravar; lra.
Qed.

(** channel.rs direct_at: for binary64 g <> 0, b, m, x and r_lo, r_hi with
    0 < r_lo <= rho <= r_hi (rho = sqrt(v + e), the channel's [sqrt_down]/[sqrt_up] ends),
    the lower (UP = false) and upper results enclose g*(x - m)/rho + b (OFFSET) or
    g*x/rho, whenever the modelled path is taken (an infinite result only on the
    overflowing side). *)
Theorem direct_at_bounds : forall (offset : bool) g b m r_lo rho r_hi x,
  F64 g -> F64 b -> F64 m -> F64 r_lo -> F64 r_hi -> F64 x -> g <> 0 ->
  0 < r_lo -> r_lo <= rho <= r_hi ->
  let y := g * (if offset then x - m else x) / rho + (if offset then b else 0) in
  (forall e, direct_at offset false g b m r_lo r_hi x = Some e -> below e y) /\
  (forall e, direct_at offset true g b m r_lo r_hi x = Some e -> above e y).
Proof.
intros offset g b m r_lo rho r_hi x Fg Fb Fm Fl Fh Fx Hg Hl Hrho y.
assert (Fm' : F64 (- m)) by (apply generic_format_opp; exact Fm).
assert (Hrho0 : 0 < rho) by lra.
assert (Hir : 0 < / rho) by (apply Rinv_0_lt_compat; lra).
set (z := if offset then x - m else x) in y.
assert (Lo : forall t, F64 t -> g * t <= g * z ->
  let r := if Bool.eqb (Bool.eqb (gpos g) (gpos t)) false then r_lo else r_hi in
  below (quot_scaled false g t 0 r) (g * z / rho)).
{ intros t Ft Ht r.
  assert (Hr : 0 < r /\ F64 r) by (unfold r; destruct Bool.eqb; split; auto; lra).
  destruct (quot_scaled_bounds g t 0 r Fg Ft (proj2 Hr) (proj1 Hr)) as [H _].
  apply below_mono with (1 := H).
  change (bpow 0) with 1. rewrite Rmult_1_r.
  apply Rle_trans with (g * t / rho).
  - unfold r, gpos.
    destruct (Rlt_dec 0 g) as [Gp|Gn]; destruct (Rlt_dec 0 t) as [Tp|Tn]; simpl.
    + apply div_pos_le; [nra|lra|lra].
    + apply div_neg_le; [nra|lra|lra].
    + apply div_neg_le; [nra|lra|lra].
    + apply div_pos_le; [nra|lra|lra].
  - unfold Rdiv. apply Rmult_le_compat_r; lra. }
assert (Hi : forall t, F64 t -> g * z <= g * t ->
  let r := if Bool.eqb (Bool.eqb (gpos g) (gpos t)) true then r_lo else r_hi in
  above (quot_scaled true g t 0 r) (g * z / rho)).
{ intros t Ft Ht r.
  assert (Hr : 0 < r /\ F64 r) by (unfold r; destruct Bool.eqb; split; auto; lra).
  destruct (quot_scaled_bounds g t 0 r Fg Ft (proj2 Hr) (proj1 Hr)) as [_ H].
  apply above_mono with (1 := H).
  change (bpow 0) with 1. rewrite Rmult_1_r.
  apply Rle_trans with (g * t / rho).
  - unfold Rdiv. apply Rmult_le_compat_r; lra.
  - unfold r, gpos.
    destruct (Rlt_dec 0 g) as [Gp|Gn]; destruct (Rlt_dec 0 t) as [Tp|Tn]; simpl.
    + apply div_pos_le; [nra|lra|lra].
    + apply div_neg_le; [nra|lra|lra].
    + apply div_neg_le; [nra|lra|lra].
    + apply div_pos_le; [nra|lra|lra]. }
assert (Fup : forall a c, F64 (add_up choice a c)).
{ intros a c. unfold add_up. rewrite Rminus_0_l. apply generic_format_opp, add_down_format. }
destruct offset.
- (* OFFSET: t by add_down/add_up in the direction making g*t extreme *)
  assert (Tl : F64 (if Bool.eqb (gpos g) false then add_up choice x (- m)
                     else add_down choice x (- m)) /\
               g * (if Bool.eqb (gpos g) false then add_up choice x (- m)
                    else add_down choice x (- m)) <= g * (x - m)).
  { unfold gpos. destruct (Rlt_dec 0 g) as [Gp|Gn]; simpl.
    - split; [apply add_down_format|].
      assert (add_down choice x (- m) <= x + - m) by (apply add_down_le; auto). nra.
    - split; [apply Fup|].
      assert (x + - m <= add_up choice x (- m)) by (apply add_up_ge; auto). nra. }
  assert (Th : F64 (if Bool.eqb (gpos g) true then add_up choice x (- m)
                     else add_down choice x (- m)) /\
               g * (x - m) <= g * (if Bool.eqb (gpos g) true then add_up choice x (- m)
                    else add_down choice x (- m))).
  { unfold gpos. destruct (Rlt_dec 0 g) as [Gp|Gn]; simpl.
    - split; [apply Fup|].
      assert (x + - m <= add_up choice x (- m)) by (apply add_up_ge; auto). nra.
    - split; [apply add_down_format|].
      assert (add_down choice x (- m) <= x + - m) by (apply add_down_le; auto). nra. }
  split; intros e He; unfold direct_at in He; cbv beta iota zeta in He.
  + destruct Tl as [Ft Ht].
    set (t := if Bool.eqb (gpos g) false then _ else _) in *.
    specialize (Lo t Ft Ht). cbv zeta in Lo.
    set (qq := quot_scaled false g t 0 _) in *.
    destruct qq as [p0|s0] eqn:Q; [|discriminate].
    injection He; intros <-. unfold qq in Q.
    assert (Fp := quot_scaled_format _ _ _ _ _ _ Q).
    cbn [below] in Lo |- *.
    assert (add_down choice p0 b <= p0 + b) by (apply add_down_le; auto).
    unfold y. cbv beta iota. lra.
  + destruct Th as [Ft Ht].
    set (t := if Bool.eqb (gpos g) true then _ else _) in *.
    specialize (Hi t Ft Ht). cbv zeta in Hi.
    set (qq := quot_scaled true g t 0 _) in *.
    destruct qq as [p0|s0] eqn:Q; [|discriminate].
    injection He; intros <-. unfold qq in Q.
    assert (Fp := quot_scaled_format _ _ _ _ _ _ Q).
    cbn [above] in Hi |- *.
    assert (p0 + b <= add_up choice p0 b) by (apply add_up_ge; auto).
    unfold y. cbv beta iota. lra.
- (* no offset: t = x, the quotient itself *)
  split; intros e He; unfold direct_at in He; cbv beta iota zeta in He;
    injection He; intros <-; unfold y; cbv beta iota; rewrite Rplus_0_r.
  + exact (Lo x Fx (Rle_refl _)).
  + exact (Hi x Fx (Rle_refl _)).
Qed.

(** ** channel.rs image with [direct()] Some: the intersection *)

(** f64::max / f64::min on bounds (NaN excluded): -oo is the identity of max, +oo of min. *)
Definition ext_max (a c : ext) : ext :=
  match a, c with
  | Inf false, _ => c | _, Inf false => a
  | Inf true, _ => Inf true | _, Inf true => Inf true
  | Fin u, Fin v => Fin (Rmax u v)
  end.

Definition ext_min (a c : ext) : ext := ext_neg (ext_max (ext_neg a) (ext_neg c)).

Lemma below_max : forall a c y, below a y -> below c y -> below (ext_max a c) y.
Proof.
intros [u|[|]] [v|[|]] y Ha Hc; simpl in *; try congruence; try lra.
apply Rmax_lub; assumption.
Qed.

Lemma above_min : forall a c y, above a y -> above c y -> above (ext_min a c) y.
Proof.
intros [u|[|]] [v|[|]] y Ha Hc; simpl in *; try congruence; try lra.
unfold Rmax. destruct Rle_dec; lra.
Qed.

(** image's direct part: for every real x in the finite box [l, h], the direct bounds at
    at_lo (l for g > 0, h for g < 0) and at_hi (the other end), intersected with any
    sound bounds lo, hi (those of [image_encloses]), enclose g*(x - m)/rho + b (OFFSET)
    or g*x/rho. *)
Theorem image_direct_encloses : forall (offset : bool) g b m r_lo rho r_hi l h x lo hi,
  F64 g -> F64 b -> F64 m -> F64 r_lo -> F64 r_hi -> F64 l -> F64 h -> g <> 0 ->
  0 < r_lo -> r_lo <= rho <= r_hi -> l <= x <= h ->
  let y := g * (if offset then x - m else x) / rho + (if offset then b else 0) in
  let at_lo := if Rlt_dec g 0 then h else l in
  let at_hi := if Rlt_dec g 0 then l else h in
  below lo y -> above hi y ->
  (forall e, direct_at offset false g b m r_lo r_hi at_lo = Some e -> below (ext_max lo e) y) /\
  (forall e, direct_at offset true g b m r_lo r_hi at_hi = Some e -> above (ext_min hi e) y).
Proof.
intros offset g b m r_lo rho r_hi l h x lo hi Fg Fb Fm Fl Fh Fxl Fxh Hg Hl Hrho Hx
  y at_lo at_hi Hlo Hhi.
assert (Hir : 0 < / rho) by (apply Rinv_0_lt_compat; lra).
(* y is monotone in x: increasing for g > 0, decreasing for g < 0 *)
assert (Mono : forall u w, (0 < g -> u <= w) -> (g < 0 -> w <= u) ->
  g * (if offset then u - m else u) / rho + (if offset then b else 0) <=
  g * (if offset then w - m else w) / rho + (if offset then b else 0)).
{ intros u w H1 H2. unfold Rdiv.
  assert (Hk : g * (if offset then u - m else u) <= g * (if offset then w - m else w)).
  { destruct (Rlt_dec 0 g) as [Gp|Gn].
    - specialize (H1 Gp). destruct offset; nra.
    - assert (Gn' : g < 0) by lra. specialize (H2 Gn'). destruct offset; nra. }
  apply Rplus_le_compat_r. apply Rmult_le_compat_r; lra. }
assert (Fa : F64 at_lo) by (unfold at_lo; destruct Rlt_dec; assumption).
assert (Fb' : F64 at_hi) by (unfold at_hi; destruct Rlt_dec; assumption).
destruct (direct_at_bounds offset g b m r_lo rho r_hi at_lo Fg Fb Fm Fl Fh Fa Hg Hl Hrho)
  as [Dl _].
destruct (direct_at_bounds offset g b m r_lo rho r_hi at_hi Fg Fb Fm Fl Fh Fb' Hg Hl Hrho)
  as [_ Dh].
split; intros e He.
- apply below_max; [exact Hlo|].
  apply below_mono with (1 := Dl e He). unfold y, at_lo. apply Mono;
    intros; destruct Rlt_dec; lra.
- apply above_min; [exact Hhi|].
  apply above_mono with (1 := Dh e He). unfold y, at_hi. apply Mono;
    intros; destruct Rlt_dec; lra.
Qed.

End Direct.

Print Assumptions quot_scaled_bounds.
Print Assumptions direct_at_bounds.
Print Assumptions image_direct_encloses.
