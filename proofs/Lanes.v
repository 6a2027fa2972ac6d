(** * The lane steps: [src/num/round/lanes.rs]

    [lane_below(c)] returns RN(c - e) with e = RN(phi*|c| + eta) (one FMA) or
    e = RN(RN(phi*|c|) + eta) (no FMA), phi = 2^-p (1 + 2^(1-p)), eta = 2^emin: the
    predecessor algorithm of Rump, Zimmermann, Boldo and Melquiond (BIT 49, 2009).
    Claim: for every finite float c (subnormals, zero and binade boundaries included),
    the result is <= pred(c). Proved here for any FLT format with gradual underflow and any
    tie-breaking rule of round-to-nearest, then instantiated for binary64 (p = 53,
    emin = -1074) and binary32 (p = 24, emin = -149). Also: [f32_below_nearest], one binary32
    step below RN32(r) for r = RN64(w), is <= w.

    lanes.rs adds eta only where |c| < tiny = 2^(emin + 2 prec - 1) (2^-969 in binary64,
    2^-102 in binary32): a subnormal operand costs a microcode assist on many CPUs. Above
    that threshold RN(phi*|c|) alone exceeds half the ulp of c ([err_gt_half_ulp_big]);
    the theorems below are stated for that guarded error term.

    Flocq's rounding has no overflow. For finite c, e is finite and tiny; c - e can only
    overflow downward (to -oo), which is below pred(c) as well; +oo and -oo inputs are
    handled by explicit code in lanes.rs and argued in its comment, not here. *)

From Coq Require Import Reals Lia Lra.
From Flocq Require Import Core.
Open Scope R_scope.

Section Generic.

Variables emin prec : Z.
Context { prec_gt_0_ : Prec_gt_0 prec }.

Notation fexp := (FLT_exp emin prec).
Notation F := (generic_format radix2 fexp).
Notation bpow := (bpow radix2).
Notation pred := (pred radix2 fexp).
Notation ulp := (ulp radix2 fexp).

Variable choice : Z -> bool.
Notation RN := (round radix2 fexp (Znearest choice)).

Let phi := bpow (- prec) * (1 + bpow (1 - prec)).
Let eta := bpow emin.

Lemma pred_lt_id_FLT : forall c, pred c < c.
Proof.
intros c.
destruct (Req_dec c 0) as [Hz|Hz].
- rewrite Hz, pred_0, ulp_FLT_0; auto.
  generalize (bpow_gt_0 radix2 emin); lra.
- apply pred_lt_id; exact Hz.
Qed.

(** The key lemma: if the subtracted error exceeds half the gap below c, rounding to
    nearest lands at or below pred(c) (c - e is strictly below the midpoint of pred c, c). *)
Lemma below_midpoint_le_pred :
  forall c e, F c -> (c - pred c) / 2 < e -> RN (c - e) <= pred c.
Proof.
intros c e Fc He.
assert (Hg := pred_lt_id_FLT c).
assert (Hr : RN (c - e) <= c).
{ rewrite <- (round_generic radix2 fexp (Znearest choice) c Fc) at 2.
  apply round_le; auto with typeclass_instances; lra. }
destruct Hr as [Hlt|Heq].
- apply (pred_ge_gt radix2 fexp); auto with typeclass_instances.
  apply generic_format_round; auto with typeclass_instances.
- exfalso.
  destruct (round_N_pt radix2 fexp choice (c - e)) as [_ Hn].
  specialize (Hn (pred c) (generic_format_pred radix2 fexp c Fc)).
  rewrite Heq in Hn.
  replace (c - (c - e)) with e in Hn by ring.
  rewrite (Rabs_pos_eq e) in Hn by lra.
  assert (Rabs (pred c - (c - e)) < e) by (apply Rabs_def1; lra).
  lra.
Qed.

(** The gap below a float is at most its ulp. *)
Lemma gap_le_ulp : forall c, F c -> c - pred c <= ulp c.
Proof.
intros c Fc.
destruct (Rtotal_order c 0) as [Hn|[Hz|Hp]].
- replace (pred c) with (- succ radix2 fexp (- c)).
  2: { rewrite <- pred_opp, Ropp_involutive; reflexivity. }
  rewrite succ_eq_pos by lra.
  rewrite ulp_opp; lra.
- rewrite Hz, pred_0; lra.
- generalize (pred_plus_ulp radix2 fexp c Hp Fc); intros H.
  assert (0 <= pred c) by (apply (pred_ge_0 radix2 fexp); auto with typeclass_instances; lra).
  assert (ulp (pred c) <= ulp c).
  { apply ulp_le_pos; auto with typeclass_instances. apply pred_le_id. }
  lra.
Qed.

Lemma eta_F : F eta.
Proof. unfold eta. apply generic_format_FLT_bpow; auto with typeclass_instances; lia. Qed.

Lemma RN_ge_eta : forall t, eta <= t -> eta <= RN t.
Proof.
intros t Ht.
rewrite <- (round_generic radix2 fexp (Znearest choice) eta eta_F).
apply round_le; auto with typeclass_instances.
Qed.

Lemma RN_ge_float : forall f t, F f -> f <= t -> f <= RN t.
Proof.
intros f t Ff Ht.
rewrite <- (round_generic radix2 fexp (Znearest choice) f Ff).
apply round_le; auto with typeclass_instances.
Qed.

(** The arithmetic of the normal case: with u = mag c - prec, phi|c| >= 2^(u-1) + 2^(u-prec). *)
Lemma phi_abs_ge :
  forall c, c <> 0 ->
  bpow (mag radix2 c - prec - 1) + bpow (mag radix2 c - prec - prec) <= phi * Rabs c.
Proof.
intros c Hc.
assert (Hm := bpow_mag_le radix2 c Hc).
set (m := (mag radix2 c : Z)) in *.
assert (E : bpow (m - prec - 1) + bpow (m - prec - prec) = phi * bpow (m - 1)).
{ unfold phi.
  rewrite Rmult_plus_distr_l, Rmult_1_r, Rmult_plus_distr_r.
  rewrite <- !bpow_plus.
  f_equal; f_equal; lia. }
rewrite E.
apply Rmult_le_compat_l; auto.
unfold phi.
apply Rmult_le_pos; [apply bpow_ge_0|].
generalize (bpow_ge_0 radix2 (1 - prec)); lra.
Qed.

(** Normal c (u = mag c - prec > emin): ulp(c)/2 = 2^(u-1), a float, and
    2^(u-1) + 2^(u-prec) <= phi|c|. *)
Lemma normal_half_ulp :
  forall c, c <> 0 -> (emin < mag radix2 c - prec)%Z ->
  ulp c / 2 = bpow (mag radix2 c - prec - 1) /\ F (bpow (mag radix2 c - prec - 1)) /\
  bpow (mag radix2 c - prec - 1) + bpow (mag radix2 c - prec - prec) <= phi * Rabs c.
Proof.
intros c Hz Hn.
set (u := (mag radix2 c - prec)%Z) in *.
split; [|split].
- rewrite ulp_neq_0 by exact Hz.
  assert (Hce : cexp radix2 fexp c = Z.max u emin) by reflexivity.
  rewrite Hce, Z.max_l by lia.
  replace u with ((u - 1) + 1)%Z at 1 by lia. rewrite bpow_plus, bpow_1. simpl. lra.
- apply generic_format_FLT_bpow; auto with typeclass_instances; lia.
- exact (phi_abs_ge c Hz).
Qed.

(** Both error terms exceed ulp(c)/2. [inner] is phi|c| + eta (fused) or
    RN(phi|c|) + eta (twice rounded); both satisfy the two hypotheses. *)
Lemma err_gt_half_ulp :
  forall c inner,
  eta <= inner ->
  (forall h, F h -> h <= phi * Rabs c -> h + eta <= inner) ->
  ulp c / 2 < RN inner.
Proof.
intros c inner Heta Hmono.
assert (Hle := RN_ge_eta inner Heta).
destruct (Req_dec c 0) as [Hz|Hz].
{ rewrite Hz, ulp_FLT_0 by exact prec_gt_0_. fold eta. generalize (bpow_gt_0 radix2 emin); unfold eta in *; lra. }
destruct (Z_le_gt_dec (mag radix2 c - prec) emin) as [Hs|Hn].
{ rewrite ulp_neq_0 by exact Hz.
  assert (Hce : cexp radix2 fexp c = Z.max (mag radix2 c - prec) emin) by reflexivity.
  rewrite Hce, Z.max_r by lia. fold eta. generalize (bpow_gt_0 radix2 emin); unfold eta in *; lra. }
(* normal case: u = mag c - prec > emin; h = 2^(u-1) is a float, succ h = h + 2^max(u-prec, emin) *)
destruct (normal_half_ulp c Hz ltac:(lia)) as [Hhalf [Fh Hphi]].
set (u := (mag radix2 c - prec)%Z) in *.
rewrite Hhalf.
assert (Hsucc : succ radix2 fexp (bpow (u - 1)) <= inner).
{ rewrite succ_eq_pos by apply bpow_ge_0.
  rewrite ulp_bpow. unfold FLT_exp.
  replace (u - 1 + 1)%Z with u by lia.
  destruct (Z_le_gt_dec (u - prec) emin) as [Hs'|Hn'].
  - rewrite Z.max_r by lia. fold eta.
    apply Hmono; auto.
    generalize (bpow_gt_0 radix2 (u - prec)); lra.
  - rewrite Z.max_l by lia.
    assert (Fs : F (bpow (u - 1) + bpow (u - prec))).
    { replace (bpow (u - prec)) with (ulp (bpow (u - 1))).
      2: { rewrite ulp_bpow; unfold FLT_exp; rewrite Z.max_l by lia; f_equal; lia. }
      rewrite <- succ_eq_pos by apply bpow_ge_0.
      apply generic_format_succ; auto with typeclass_instances. }
    specialize (Hmono _ Fs Hphi).
    generalize (bpow_gt_0 radix2 emin); unfold eta in *; lra. }
assert (Fsucc : F (succ radix2 fexp (bpow (u - 1))))
  by (apply generic_format_succ; auto with typeclass_instances).
assert (H1 := RN_ge_float _ _ Fsucc Hsucc).
assert (H2 := succ_gt_id radix2 fexp (bpow (u - 1)) (Rgt_not_eq _ _ (bpow_gt_0 radix2 (u - 1)))).
lra.
Qed.

Let tiny := bpow (emin + 2 * prec - 1).

(** Without eta where c is not tiny: with u = mag c - prec >= emin + prec, the float
    2^(u-1) + 2^(u-prec) (the successor of 2^(u-1), u - prec >= emin) is <= phi|c|, so
    RN(phi|c|) > 2^(u-1) = ulp(c)/2. *)
Lemma err_gt_half_ulp_big :
  forall c, tiny <= Rabs c -> ulp c / 2 < RN (phi * Rabs c).
Proof.
intros c Hbig.
assert (Hp : (0 < prec)%Z) by exact prec_gt_0_.
assert (Hz : c <> 0).
{ intros H0. rewrite H0, Rabs_R0 in Hbig. unfold tiny in Hbig.
  generalize (bpow_gt_0 radix2 (emin + 2 * prec - 1)); lra. }
assert (Hm : (emin + 2 * prec <= mag radix2 c)%Z).
{ apply mag_ge_bpow. exact Hbig. }
destruct (normal_half_ulp c Hz ltac:(lia)) as [Hhalf [Fh Hphi]].
set (u := (mag radix2 c - prec)%Z) in *.
rewrite Hhalf.
assert (Fs : F (bpow (u - 1) + bpow (u - prec))).
{ replace (bpow (u - prec)) with (ulp (bpow (u - 1))).
  2: { rewrite ulp_bpow; unfold FLT_exp; rewrite Z.max_l by lia; f_equal; lia. }
  rewrite <- succ_eq_pos by apply bpow_ge_0.
  apply generic_format_succ; auto with typeclass_instances. }
assert (H1 := RN_ge_float _ _ Fs Hphi).
generalize (bpow_gt_0 radix2 (u - prec)); lra.
Qed.

(** lane_below::<true> (one FMA for the error term). *)
Theorem lane_below_le_pred_gen :
  forall c, F c -> RN (c - RN (phi * Rabs c + eta)) <= pred c.
Proof.
intros c Fc.
apply below_midpoint_le_pred; auto.
assert (Hg := gap_le_ulp c Fc).
assert (He := err_gt_half_ulp c (phi * Rabs c + eta)).
assert (0 <= phi * Rabs c).
{ unfold phi. apply Rmult_le_pos; [apply Rmult_le_pos|apply Rabs_pos];
  [apply bpow_ge_0|generalize (bpow_ge_0 radix2 (1 - prec)); lra]. }
assert (ulp c / 2 < RN (phi * Rabs c + eta)).
{ apply He; [lra|]. intros h _ Hh; lra. }
lra.
Qed.

(** lane_below::<false> (the error term rounded twice). *)
Theorem lane_below_nofma_le_pred_gen :
  forall c, F c -> RN (c - RN (RN (phi * Rabs c) + eta)) <= pred c.
Proof.
intros c Fc.
apply below_midpoint_le_pred; auto.
assert (Hg := gap_le_ulp c Fc).
assert (He := err_gt_half_ulp c (RN (phi * Rabs c) + eta)).
assert (0 <= phi * Rabs c).
{ unfold phi. apply Rmult_le_pos; [apply Rmult_le_pos|apply Rabs_pos];
  [apply bpow_ge_0|generalize (bpow_ge_0 radix2 (1 - prec)); lra]. }
assert (0 <= RN (phi * Rabs c)).
{ apply RN_ge_float; auto. apply generic_format_0. }
assert (ulp c / 2 < RN (RN (phi * Rabs c) + eta)).
{ apply He; [lra|]. intros h Fh Hh. assert (h <= RN (phi * Rabs c)) by (apply RN_ge_float; auto). lra. }
lra.
Qed.

(** The guarded error term of lanes.rs: eta added only where |c| < tiny. *)
Theorem lane_below_guarded_le_pred_gen :
  forall c, F c ->
  RN (c - RN (phi * Rabs c + (if Rle_dec tiny (Rabs c) then 0 else eta))) <= pred c.
Proof.
intros c Fc.
destruct (Rle_dec tiny (Rabs c)) as [Hb|_].
- rewrite Rplus_0_r.
  apply below_midpoint_le_pred; auto.
  assert (Hg := gap_le_ulp c Fc).
  assert (He := err_gt_half_ulp_big c Hb).
  lra.
- apply lane_below_le_pred_gen; auto.
Qed.

Theorem lane_below_guarded_nofma_le_pred_gen :
  forall c, F c ->
  RN (c - RN (RN (phi * Rabs c) + (if Rle_dec tiny (Rabs c) then 0 else eta))) <= pred c.
Proof.
intros c Fc.
destruct (Rle_dec tiny (Rabs c)) as [Hb|_].
- rewrite Rplus_0_r.
  rewrite (round_generic radix2 fexp (Znearest choice) (RN (phi * Rabs c))).
  2: { apply generic_format_round; auto with typeclass_instances. }
  apply below_midpoint_le_pred; auto.
  assert (Hg := gap_le_ulp c Fc).
  assert (He := err_gt_half_ulp_big c Hb).
  lra.
- apply lane_below_nofma_le_pred_gen; auto.
Qed.

Theorem lane_above_guarded_ge_succ_gen :
  forall c, F c ->
  succ radix2 fexp c <=
  - RN (- c - RN (phi * Rabs (- c) + (if Rle_dec tiny (Rabs (- c)) then 0 else eta))).
Proof.
intros c Fc.
assert (H := lane_below_guarded_le_pred_gen (- c) (generic_format_opp radix2 fexp c Fc)).
rewrite pred_opp in H; lra.
Qed.

Theorem lane_above_guarded_nofma_ge_succ_gen :
  forall c, F c ->
  succ radix2 fexp c <=
  - RN (- c - RN (RN (phi * Rabs (- c)) + (if Rle_dec tiny (Rabs (- c)) then 0 else eta))).
Proof.
intros c Fc.
assert (H := lane_below_guarded_nofma_le_pred_gen (- c) (generic_format_opp radix2 fexp c Fc)).
rewrite pred_opp in H; lra.
Qed.

(** pred(RN x) < x for every real x: the float below the nearest float is below x. *)
Lemma pred_RN_lt : forall x, pred (RN x) < x.
Proof.
intros x.
assert (H := pred_round_le_id radix2 fexp (Znearest choice) x).
destruct H as [H|H]; auto.
exfalso.
assert (Fx : F x).
{ rewrite <- H. apply generic_format_pred; auto with typeclass_instances.
  apply generic_format_round; auto with typeclass_instances. }
rewrite (round_generic radix2 fexp (Znearest choice) x Fx) in H.
generalize (pred_lt_id_FLT x); lra.
Qed.

(** lane_above(c) = -lane_below(-c), literally (the same RN on -c): >= succ(c). *)
Theorem lane_above_ge_succ_gen :
  forall c, F c -> succ radix2 fexp c <= - RN (- c - RN (phi * Rabs (- c) + eta)).
Proof.
intros c Fc.
assert (H := lane_below_le_pred_gen (- c) (generic_format_opp radix2 fexp c Fc)).
rewrite pred_opp in H; lra.
Qed.

Theorem lane_above_nofma_ge_succ_gen :
  forall c, F c -> succ radix2 fexp c <= - RN (- c - RN (RN (phi * Rabs (- c)) + eta)).
Proof.
intros c Fc.
assert (H := lane_below_nofma_le_pred_gen (- c) (generic_format_opp radix2 fexp c Fc)).
rewrite pred_opp in H; lra.
Qed.

(** x < succ(RN x) for every real x (the mirror of pred_RN_lt). *)
Lemma succ_RN_gt : forall x, x < succ radix2 fexp (RN x).
Proof.
intros x.
assert (H := succ_round_ge_id radix2 fexp (Znearest choice) x).
destruct H as [H|H]; auto.
exfalso.
assert (Fx : F x).
{ rewrite H. apply generic_format_succ; auto with typeclass_instances.
  apply generic_format_round; auto with typeclass_instances. }
rewrite (round_generic radix2 fexp (Znearest choice) x Fx) in H.
generalize (succ_gt_id radix2 fexp x); intros Hs.
destruct (Req_dec x 0) as [Hz|Hz].
- rewrite Hz, succ_0, ulp_FLT_0 in H by exact prec_gt_0_.
  generalize (bpow_gt_0 radix2 emin); lra.
- specialize (Hs Hz); lra.
Qed.

End Generic.

(** ** binary64 and binary32 instances *)

Global Instance prec_gt_0_53 : Prec_gt_0 53. Proof. easy. Qed.
Global Instance prec_gt_0_24 : Prec_gt_0 24. Proof. easy. Qed.

Notation fexp64 := (FLT_exp (-1074) 53).
Notation fexp32 := (FLT_exp (-149) 24).
Notation F64 := (generic_format radix2 fexp64).
Notation F32 := (generic_format radix2 fexp32).
(** phi64 = 2^-53 (1 + 2^-52) = PHI64, eta64 = 2^-1074 = ETA64 in lanes.rs. *)
Definition phi64 := bpow radix2 (-53) * (1 + bpow radix2 (-52)).
Definition eta64 := bpow radix2 (-1074).
(** phi32 = 2^-24 (1 + 2^-23) = PHI32, eta32 = 2^-149 = ETA32. *)
Definition phi32 := bpow radix2 (-24) * (1 + bpow radix2 (-23)).
Definition eta32 := bpow radix2 (-149).
(** tiny64 = 2^-969 = TINY64, tiny32 = 2^-102 = TINY32 in lanes.rs; the error term adds
    eta only below them (eta64g, eta32g: the addend lanes.rs computes for c). *)
Definition tiny64 := bpow radix2 (-1074 + 2 * 53 - 1).
Definition tiny32 := bpow radix2 (-149 + 2 * 24 - 1).
Definition eta64g (c : R) := if Rle_dec tiny64 (Rabs c) then 0 else eta64.
Definition eta32g (c : R) := if Rle_dec tiny32 (Rabs c) then 0 else eta32.

Section Instances.
(** Any tie-breaking rule: Rust's ties-to-even is [fun z => negb (Z.even z)]. *)
Variable choice : Z -> bool.
Notation RN64 := (round radix2 fexp64 (Znearest choice)).
Notation RN32 := (round radix2 fexp32 (Znearest choice)).
Notation pred64 := (pred radix2 fexp64).
Notation pred32 := (pred radix2 fexp32).

(** lanes.rs lane_below::<true>, binary64. *)
Theorem lane_below_le_pred :
  forall c, F64 c -> RN64 (c - RN64 (phi64 * Rabs c + eta64g c)) <= pred64 c.
Proof. exact (lane_below_guarded_le_pred_gen (-1074) 53 choice). Qed.

(** lanes.rs lane_below::<false>, binary64. *)
Theorem lane_below_nofma_le_pred :
  forall c, F64 c -> RN64 (c - RN64 (RN64 (phi64 * Rabs c) + eta64g c)) <= pred64 c.
Proof. exact (lane_below_guarded_nofma_le_pred_gen (-1074) 53 choice). Qed.

(** lanes.rs lane_below32::<true>, binary32. *)
Theorem lane_below32_le_pred :
  forall c, F32 c -> RN32 (c - RN32 (phi32 * Rabs c + eta32g c)) <= pred32 c.
Proof. exact (lane_below_guarded_le_pred_gen (-149) 24 choice). Qed.

(** lanes.rs lane_below32::<false>, binary32. *)
Theorem lane_below32_nofma_le_pred :
  forall c, F32 c -> RN32 (c - RN32 (RN32 (phi32 * Rabs c) + eta32g c)) <= pred32 c.
Proof. exact (lane_below_guarded_nofma_le_pred_gen (-149) 24 choice). Qed.

(** The use: lane_below(RN64(w)) <= w for every real w. *)
Theorem lane_below_le :
  forall w, let c := RN64 w in
  RN64 (c - RN64 (phi64 * Rabs c + eta64g c)) <= w /\
  RN64 (c - RN64 (RN64 (phi64 * Rabs c) + eta64g c)) <= w.
Proof.
intros w c.
assert (Fc : F64 c) by (apply generic_format_round; auto with typeclass_instances).
assert (Hp := pred_RN_lt (-1074) 53 choice w).
split.
- generalize (lane_below_le_pred c Fc); fold c in Hp; lra.
- generalize (lane_below_nofma_le_pred c Fc); fold c in Hp; lra.
Qed.

Lemma binary32_in_binary64 : forall x, F32 x -> F64 x.
Proof.
intros x Fx.
apply generic_inclusion_mag with (fexp1 := fexp32); auto with typeclass_instances.
intros _; unfold FLT_exp; lia.
Qed.

(** lanes.rs f32_below_nearest: for r = RN64(w), one binary32 lane step below
    y = RN32(r) is <= w (fused or twice-rounded error term), without testing y < r. *)
Theorem f32_below_nearest_le :
  forall w, let y := RN32 (RN64 w) in
  RN32 (y - RN32 (phi32 * Rabs y + eta32g y)) <= w /\
  RN32 (y - RN32 (RN32 (phi32 * Rabs y) + eta32g y)) <= w.
Proof.
intros w y.
set (r := RN64 w).
assert (Fr : F64 r) by (apply generic_format_round; auto with typeclass_instances).
assert (Fy : F32 y) by (apply generic_format_round; auto with typeclass_instances).
(* pred32 y < r, both binary64 floats, so pred32 y <= pred64 r <= w *)
assert (H1 : pred32 y < r) by apply (pred_RN_lt (-149) 24 choice r).
assert (H2 : pred32 y <= pred64 r).
{ apply (pred_ge_gt radix2 fexp64); auto with typeclass_instances.
  apply binary32_in_binary64, generic_format_pred; auto with typeclass_instances. }
assert (H3 : pred64 r <= w) by (apply pred_round_le_id; auto with typeclass_instances).
split.
- generalize (lane_below32_le_pred y Fy); lra.
- generalize (lane_below32_nofma_le_pred y Fy); lra.
Qed.

(** lanes.rs lane_above::<true> / ::<false> (= -lane_below(-c)), binary64: >= succ(c). *)
Theorem lane_above_ge_succ :
  forall c, F64 c ->
  succ radix2 fexp64 c <= - RN64 (- c - RN64 (phi64 * Rabs (- c) + eta64g (- c))) /\
  succ radix2 fexp64 c <= - RN64 (- c - RN64 (RN64 (phi64 * Rabs (- c)) + eta64g (- c))).
Proof.
intros c Fc; split.
- exact (lane_above_guarded_ge_succ_gen (-1074) 53 choice c Fc).
- exact (lane_above_guarded_nofma_ge_succ_gen (-1074) 53 choice c Fc).
Qed.

(** lanes.rs lane_above32, binary32. *)
Theorem lane_above32_ge_succ :
  forall c, F32 c ->
  succ radix2 fexp32 c <= - RN32 (- c - RN32 (phi32 * Rabs (- c) + eta32g (- c))) /\
  succ radix2 fexp32 c <= - RN32 (- c - RN32 (RN32 (phi32 * Rabs (- c)) + eta32g (- c))).
Proof.
intros c Fc; split.
- exact (lane_above_guarded_ge_succ_gen (-149) 24 choice c Fc).
- exact (lane_above_guarded_nofma_ge_succ_gen (-149) 24 choice c Fc).
Qed.

(** The use of lane_above: w <= lane_above(RN64 w) for every real w. *)
Theorem lane_above_ge :
  forall w, let c := RN64 w in
  w <= - RN64 (- c - RN64 (phi64 * Rabs (- c) + eta64g (- c))) /\
  w <= - RN64 (- c - RN64 (RN64 (phi64 * Rabs (- c)) + eta64g (- c))).
Proof.
intros w c.
assert (Fc : F64 c) by (apply generic_format_round; auto with typeclass_instances).
assert (Hs := succ_RN_gt (-1074) 53 choice w); fold c in Hs.
destruct (lane_above_ge_succ c Fc) as [H1 H2].
split; lra.
Qed.

(** lanes.rs lane_fma_for_below followed by lane_below (kernel/loops.rs: the bias and
    dot loops): with FMA, lane_below(RN(a*b + c)); without, the product is rounded and
    stepped down, the sum rounded, and the result stepped down. Both are <= a*b + c. *)
Theorem lane_fma_for_below_le :
  forall a b c : R,
  (let r := RN64 (a * b + c) in
   RN64 (r - RN64 (phi64 * Rabs r + eta64g r)) <= a * b + c) /\
  (let p := RN64 (a * b) in
   let l := RN64 (p - RN64 (RN64 (phi64 * Rabs p) + eta64g p)) in
   let r := RN64 (l + c) in
   RN64 (r - RN64 (RN64 (phi64 * Rabs r) + eta64g r)) <= a * b + c).
Proof.
intros a b c; split.
- exact (proj1 (lane_below_le (a * b + c))).
- intros p l r.
  assert (Hl : l <= a * b) by exact (proj2 (lane_below_le (a * b))).
  assert (Hr := proj2 (lane_below_le (l + c))).
  simpl in Hr. fold r in Hr. lra.
Qed.

(** The mirror: lane_above(lane_fma_for_above(a, b, c)) >= a*b + c, where
    lane_fma_for_above(a, b, c) = -lane_fma_for_below(-a, b, -c). *)
Theorem lane_fma_for_above_ge :
  forall a b c : R,
  (let r := - RN64 (- a * b + - c) in
   a * b + c <= - RN64 (- r - RN64 (phi64 * Rabs (- r) + eta64g (- r)))) /\
  (let p := RN64 (- a * b) in
   let l := RN64 (p - RN64 (RN64 (phi64 * Rabs p) + eta64g p)) in
   let r := - RN64 (l + - c) in
   a * b + c <= - RN64 (- r - RN64 (RN64 (phi64 * Rabs (- r)) + eta64g (- r)))).
Proof.
intros a b c.
destruct (lane_fma_for_below_le (- a) b (- c)) as [H1 H2].
split.
- intros r. unfold r. rewrite Ropp_involutive.
  simpl in H1. lra.
- intros p l r. unfold r. rewrite Ropp_involutive.
  simpl in H2. fold p l in H2. lra.
Qed.

End Instances.

Print Assumptions lane_below_le_pred.
Print Assumptions lane_below_nofma_le_pred.
Print Assumptions lane_below32_le_pred.
Print Assumptions lane_below32_nofma_le_pred.
Print Assumptions lane_below_le.
Print Assumptions f32_below_nearest_le.
Print Assumptions lane_above_ge_succ.
Print Assumptions lane_above32_ge_succ.
Print Assumptions lane_above_ge.
Print Assumptions lane_fma_for_below_le.
Print Assumptions lane_fma_for_above_ge.
