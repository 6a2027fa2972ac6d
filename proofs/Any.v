(** * The per-operation error model of --runtime any

    modes/deployed/any.rs widens each operation's interval by rho*|t| + eta' (widen), with
    rho = u, eta' = eta for a correctly rounded operation (rn) and rho = u + 4*K*u,
    eta' = (2K + 1)*eta for a K-ulp operation (kop); u = 2^-p, eta = 2^(emin_n - p) is
    half the subnormal spacing. This file proves the model: in any binary format with
    gradual underflow (Flocq's FLT emin prec, whose subnormal spacing is 2^emin, so
    eta = 2^emin / 2) and for any K <= 2^(prec-2) (the code allows K <= 2^(p-4)), every
    value reached from RN(v) by K steps along the floats (each step succ or pred, so the
    walk may cross zero) is within (u + 4Ku)|v| + (2K + 1)*eta of v.

    The argument: RN(v) is within u|v| + eta of v (Flocq's error_N_FLT). With
    e = mag(v), every float of magnitude below max(2^(e+1), 2^(emin+prec)) has
    ulp <= W = 2^max(e+1-prec, emin), and W <= 4u|v| + 2*eta; a walk of K steps of at most
    W each from |RN(v)| <= 2^e stays below that magnitude because K*W <= 2^(e-1) (or
    <= 2^(emin+prec-2) in the subnormal range). *)

From Coq Require Import Reals Lia Lra List.
From Flocq Require Import Core Relative.
Import ListNotations.
Open Scope R_scope.

Section Any.

Variables emin prec : Z.
Hypothesis Hprec : (2 <= prec)%Z.
Instance prec_gt_0_any : Prec_gt_0 prec.
Proof. unfold Prec_gt_0; lia. Qed.
Variable choice : Z -> bool.
Notation fexp := (FLT_exp emin prec).
Notation F := (generic_format radix2 fexp).
Notation RN := (round radix2 fexp (Znearest choice)).
Notation ulp := (ulp radix2 fexp).
Notation succ := (succ radix2 fexp).
Notation pred := (pred radix2 fexp).
Notation bpow := (bpow radix2).

Definition u := bpow (- prec).
Definition eta := bpow emin / 2.

(** One step along the floats, and a walk of steps (the last step outermost). *)
Definition step (b : bool) (x : R) := if b then succ x else pred x.

Fixpoint walk (bs : list bool) (x : R) : R :=
  match bs with [] => x | b :: bs => step b (walk bs x) end.

Lemma step_format : forall b x, F x -> F (step b x).
Proof.
intros [|] x Fx; unfold step;
  [apply generic_format_succ|apply generic_format_pred]; auto with typeclass_instances.
Qed.

Lemma walk_format : forall bs x, F x -> F (walk bs x).
Proof. induction bs; intros x Fx; simpl; [exact Fx|]. apply step_format, IHbs, Fx. Qed.

Lemma succ_dist : forall x, F x -> Rabs (succ x - x) <= ulp x.
Proof.
intros x Fx.
assert (Hge := succ_ge_id radix2 fexp x).
rewrite Rabs_pos_eq by lra.
destruct (Rle_or_lt 0 x) as [Hx|Hx].
- rewrite succ_eq_pos by exact Hx. lra.
- set (z := - x).
  assert (Hz : 0 < z) by (unfold z; lra).
  assert (Fz : F z) by (apply generic_format_opp, Fx).
  assert (Hsx : succ x = - pred z).
  { unfold z. rewrite <- succ_opp, Ropp_involutive. reflexivity. }
  rewrite Hsx.
  assert (Hpu := pred_plus_ulp radix2 fexp z Hz Fz).
  assert (Hp0 := pred_ge_0 radix2 fexp z Hz Fz).
  assert (Hpl := pred_le_id radix2 fexp z).
  assert (Hul : ulp (pred z) <= ulp x).
  { rewrite <- (ulp_opp radix2 fexp x). fold z.
    apply ulp_le; auto with typeclass_instances.
    rewrite !Rabs_pos_eq; lra. }
  unfold z in *. lra.
Qed.

Lemma step_dist : forall b x, F x -> Rabs (step b x - x) <= ulp x.
Proof.
intros [|] x Fx; unfold step; [apply succ_dist, Fx|].
replace (pred x - x) with (- (succ (- x) - (- x))).
- rewrite Rabs_Ropp, <- (ulp_opp radix2 fexp x). apply succ_dist, generic_format_opp, Fx.
- unfold pred. ring.
Qed.

(** Below bpow E (E = max(e+1, emin+prec)) the ulp is at most W = bpow (max (e+1-prec) emin). *)
Lemma ulp_below :
  forall e y, Rabs y < bpow (Z.max (e + 1) (emin + prec)) ->
  ulp y <= bpow (Z.max (e + 1 - prec) emin).
Proof.
intros e y Hy.
destruct (Req_dec y 0) as [H0|H0].
{ subst y. rewrite ulp_FLT_0; [apply bpow_le; lia|..]; auto with typeclass_instances. }
rewrite ulp_neq_0 by exact H0.
apply bpow_le. unfold cexp, FLT_exp.
assert (Hm := mag_le_bpow radix2 y _ H0 Hy). lia.
Qed.

(** A walk of k steps from x0 with |x0| <= bpow e moves at most k*W, while
    bpow e + K*W <= bpow E. *)
Lemma walk_dist :
  forall e x0 K, F x0 -> Rabs x0 <= bpow e ->
  bpow e + INR K * bpow (Z.max (e + 1 - prec) emin) <= bpow (Z.max (e + 1) (emin + prec)) ->
  forall bs, (length bs <= K)%nat ->
  Rabs (walk bs x0 - x0) <= INR (length bs) * bpow (Z.max (e + 1 - prec) emin).
Proof.
intros e x0 K Fx0 Hx0 HK.
set (W := bpow (Z.max (e + 1 - prec) emin)) in *.
assert (HW : 0 < W) by apply bpow_gt_0.
induction bs as [|b bs IH]; intros Hl; simpl (walk _ _); simpl (length _).
{ simpl. rewrite Rminus_diag_eq, Rabs_R0 by reflexivity. lra. }
simpl in Hl.
assert (IH' := IH ltac:(lia)).
set (y := walk bs x0) in *.
assert (Fy : F y) by (apply walk_format, Fx0).
assert (HlK : INR (length bs) + 1 <= INR K).
{ rewrite <- S_INR. apply le_INR. lia. }
assert (Hy : Rabs y < bpow (Z.max (e + 1) (emin + prec))).
{ assert (Rabs y <= Rabs x0 + Rabs (y - x0)).
  { replace y with (x0 + (y - x0)) at 1 by ring. apply Rabs_triang. }
  nra. }
assert (Hs := step_dist b y Fy).
assert (Hu := ulp_below e y Hy). fold W in Hu.
rewrite S_INR.
assert (Rabs (step b y - x0) <= Rabs (step b y - y) + Rabs (y - x0)).
{ replace (step b y - x0) with ((step b y - y) + (y - x0)) by ring. apply Rabs_triang. }
lra.
Qed.

(** any.rs kop (and rn, K = 0): a value K steps along the floats from RN(v) is within
    (u + 4Ku)|v| + (2K + 1)*eta of v. *)
Theorem kulp_model :
  forall v bs, INR (length bs) <= bpow (prec - 2) ->
  Rabs (walk bs (RN v) - v) <=
    (u + 4 * INR (length bs) * u) * Rabs v + (2 * INR (length bs) + 1) * eta.
Proof.
intros v bs HK.
set (K := length bs) in *.
set (x0 := RN v).
assert (Fx0 : F x0) by (apply generic_format_round; auto with typeclass_instances).
(* the rounding error *)
assert (Hr : Rabs (x0 - v) <= u * Rabs v + eta).
{ destruct (error_N_FLT radix2 emin prec ltac:(lia) choice v) as [eps [et [He [Ht [_ Hx]]]]].
  unfold x0. rewrite Hx.
  replace (v * (1 + eps) + et - v) with (v * eps + et) by ring.
  apply Rle_trans with (1 := Rabs_triang _ _). rewrite Rabs_mult.
  unfold u, eta.
  replace (/ 2 * bpow (- prec + 1)) with (bpow (- prec)) in He.
  2:{ rewrite bpow_plus, bpow_1. change (IZR (radix_val radix2)) with 2. field. }
  assert (0 <= Rabs v) by apply Rabs_pos.
  assert (Rabs v * Rabs eps <= Rabs v * bpow (- prec)) by (apply Rmult_le_compat_l; lra).
  lra. }
(* the exponent e *)
set (e := if Req_EM_T v 0 then emin else Z.max (mag radix2 v) emin).
assert (Hve : Rabs v <= bpow e).
{ unfold e. destruct (Req_EM_T v 0) as [H0|H0].
  - subst v. rewrite Rabs_R0. apply bpow_ge_0.
  - left. apply Rlt_le_trans with (bpow (mag radix2 v)).
    + apply bpow_mag_gt.
    + apply bpow_le; lia. }
assert (He_emin : (emin <= e)%Z) by (unfold e; destruct Req_EM_T; lia).
assert (Hx0 : Rabs x0 <= bpow e).
{ apply abs_round_le_generic; auto with typeclass_instances.
  apply generic_format_FLT_bpow; auto with typeclass_instances; lia. }
set (W := bpow (Z.max (e + 1 - prec) emin)).
assert (HW0 : 0 < W) by apply bpow_gt_0.
(* W <= 4u|v| + 2 eta *)
assert (HW : W <= 4 * u * Rabs v + 2 * eta).
{ unfold W, u, eta.
  destruct (Z_le_gt_dec (e + 1 - prec) emin) as [Hs|Hb].
  - rewrite Z.max_r by lia. assert (0 <= Rabs v) by apply Rabs_pos.
    assert (0 < bpow (- prec)) by apply bpow_gt_0. nra.
  - rewrite Z.max_l by lia.
    assert (Hv0 : v <> 0).
    { intros H0. unfold e in Hb. destruct (Req_EM_T v 0); [lia|contradiction]. }
    assert (Hm : e = mag radix2 v).
    { unfold e in *. destruct (Req_EM_T v 0); [contradiction|]. lia. }
    assert (Hlo := bpow_mag_le radix2 v Hv0). rewrite <- Hm in Hlo.
    replace (e + 1 - prec)%Z with ((- prec) + 2 + (e - 1))%Z by lia.
    rewrite !bpow_plus.
    assert (0 < bpow (- prec)) by apply bpow_gt_0.
    assert (0 <= bpow emin / 2) by (generalize (bpow_ge_0 radix2 emin); lra).
    simpl (bpow 2). nra. }
(* the walk stays below bpow E *)
assert (HE : bpow e + INR K * W <= bpow (Z.max (e + 1) (emin + prec))).
{ unfold W. assert (0 <= INR K) by apply pos_INR.
  destruct (Z_le_gt_dec (e + 1 - prec) emin) as [Hs|Hb].
  - rewrite Z.max_r by lia.
    assert (HKW : INR K * bpow emin <= bpow (prec - 2 + emin)).
    { rewrite bpow_plus. apply Rmult_le_compat_r; [apply bpow_ge_0|exact HK]. }
    assert (bpow e <= bpow (prec - 1 + emin)) by (apply bpow_le; lia).
    assert (bpow (prec - 2 + emin) <= bpow (prec - 1 + emin)) by (apply bpow_le; lia).
    assert (bpow (prec - 1 + emin) + bpow (prec - 1 + emin) <= bpow (Z.max (e + 1) (emin + prec))).
    { replace (bpow (prec - 1 + emin) + bpow (prec - 1 + emin))
        with (bpow (prec + emin)).
      - apply bpow_le; lia.
      - replace (prec + emin)%Z with (1 + (prec - 1 + emin))%Z by lia.
        rewrite bpow_plus, bpow_1. change (IZR (radix_val radix2)) with 2. ring. }
    lra.
  - rewrite Z.max_l by lia.
    assert (HKW : INR K * bpow (e + 1 - prec) <= bpow (e - 1)).
    { replace (e - 1)%Z with ((prec - 2) + (e + 1 - prec))%Z by lia.
      rewrite (bpow_plus _ (prec - 2)).
      apply Rmult_le_compat_r; [apply bpow_ge_0|exact HK]. }
    assert (bpow (e - 1) + bpow (e - 1) + bpow (e - 1) + bpow (e - 1)
            <= bpow (Z.max (e + 1) (emin + prec))).
    { replace (bpow (e - 1) + bpow (e - 1) + bpow (e - 1) + bpow (e - 1))
        with (bpow (2 + (e - 1))).
      - apply bpow_le; lia.
      - rewrite bpow_plus. change (bpow 2) with 4. ring. }
    assert (bpow e = bpow (e - 1) + bpow (e - 1)).
    { replace e with (1 + (e - 1))%Z at 1 by lia. rewrite bpow_plus.
      rewrite bpow_1. change (IZR (radix_val radix2)) with 2. ring. }
    assert (0 < bpow (e - 1)) by apply bpow_gt_0.
    lra. }
assert (Hw := walk_dist e x0 K Fx0 Hx0 HE bs (le_n _)). fold K W in Hw.
assert (Rabs (walk bs x0 - v) <= Rabs (walk bs x0 - x0) + Rabs (x0 - v)).
{ replace (walk bs x0 - v) with ((walk bs x0 - x0) + (x0 - v)) by ring. apply Rabs_triang. }
assert (0 <= INR K) by apply pos_INR.
assert (INR K * W <= INR K * (4 * u * Rabs v + 2 * eta)) by (apply Rmult_le_compat_l; lra).
lra.
Qed.

End Any.

Print Assumptions kulp_model.
