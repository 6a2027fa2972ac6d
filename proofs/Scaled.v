(** * Exponent-scaled bounds (round/mod.rs ldexp_bound), used by quot_scaled when the
      enclosure is not finite.

    ldexp_bound(m, k) first splits m = mm * 2^me with 1 <= |mm| < 2 (split_pow2; its bit
    manipulation is not modelled: its result is taken as given by that equation), then with
    k' = k + me: if k' >= -1022 it returns mm * pow2(k') (one rounding to nearest of an
    exact value); else r = RN(RN(mm * 2^-1022) * 2^(max(k', -1100) + 1022)) and
    next_down(r) (lower) or next_up(r) (upper). Claim: lower <= mm * 2^k' <= upper, for
    k' <= 1023 (the overflow branch k' > 1023 returns +-MAX / +-oo by explicit code). *)

From Coq Require Import Reals Lia Lra.
From Flocq Require Import Core Mult_error.
Open Scope R_scope.

Global Instance prec_gt_0_53 : Prec_gt_0 53. Proof. easy. Qed.

Notation fexp64 := (FLT_exp (-1074) 53).
Notation F64 := (generic_format radix2 fexp64).
Notation bpow := (bpow radix2).

Section Scaled.

Variable choice : Z -> bool.
Notation RN64 := (round radix2 fexp64 (Znearest choice)).
Notation pred64 := (pred radix2 fexp64).
Notation succ64 := (succ radix2 fexp64).

Definition ldexp_bound (up : bool) (mm : R) (k : Z) : R :=
  if Z_le_dec (-1022) k then RN64 (mm * bpow k)
  else
    let r := RN64 (RN64 (mm * bpow (-1022)) * bpow (Z.max k (-1100) + 1022)) in
    if up then succ64 r else pred64 r.

Lemma mag_mm : forall mm, 1 <= Rabs mm < 2 -> mag radix2 mm = 1%Z :> Z.
Proof.
intros mm H.
apply mag_unique. replace (1 - 1)%Z with 0%Z by lia.
replace (bpow 0) with 1 by reflexivity. replace (bpow 1) with 2 by reflexivity. lra.
Qed.

Lemma scaled_exact :
  forall mm e, F64 mm -> 1 <= Rabs mm < 2 -> (-1022 <= e)%Z -> RN64 (mm * bpow e) = mm * bpow e.
Proof.
intros mm e Fm Hm He.
apply round_generic; auto with typeclass_instances.
apply mult_bpow_exact_FLT; auto with typeclass_instances.
rewrite mag_mm by exact Hm. lia.
Qed.

(** A real smaller than half the least subnormal rounds to 0. *)
Lemma RN_tiny : forall x, Rabs x < bpow (-1075) -> RN64 x = 0.
Proof.
intros x Hx.
destruct (round_N_pt radix2 fexp64 choice x) as [Fr Hn].
specialize (Hn 0 (generic_format_0 _ _)).
set (r := RN64 x) in *.
assert (Hr : Rabs r < bpow (-1074)).
{ replace (0 - x) with (- x) in Hn by ring. rewrite Rabs_Ropp in Hn.
  assert (Rabs r <= Rabs (r - x) + Rabs x).
  { replace r with ((r - x) + x) at 1 by ring. apply Rabs_triang. }
  assert (bpow (-1075) * 2 = bpow (-1074)).
  { replace (-1074)%Z with (-1075 + 1)%Z by lia. rewrite bpow_plus. reflexivity. }
  lra. }
destruct (FIX_format_generic radix2 (-1074) r
  (generic_format_FIX_FLT radix2 (-1074) 53 r Fr)) as [[m e] H1 H2].
cbn [Fexp] in H2. rewrite H1 in Hr |- *. unfold F2R in *; cbn [Fnum Fexp] in *. rewrite H2 in *.
rewrite Rabs_mult, (Rabs_pos_eq (bpow _)) in Hr by apply bpow_ge_0.
assert (Habs : Rabs (IZR m) < 1).
{ assert (0 < bpow (-1074)) by apply bpow_gt_0. nra. }
rewrite <- abs_IZR in Habs. apply lt_IZR in Habs.
assert (m = 0%Z) by lia. subst. simpl. ring.
Qed.

Theorem ldexp_bound_bounds :
  forall mm k, F64 mm -> 1 <= Rabs mm < 2 ->
  ldexp_bound false mm k <= mm * bpow k <= ldexp_bound true mm k.
Proof.
intros mm k Fm Hm.
unfold ldexp_bound.
destruct (Z_le_dec (-1022) k) as [Hk|Hk].
{ rewrite scaled_exact by auto. lra. }
rewrite (scaled_exact mm (-1022)) by (auto; lia).
rewrite Rmult_assoc, <- bpow_plus.
replace (-1022 + (Z.max k (-1100) + 1022))%Z with (Z.max k (-1100)) by lia.
destruct (Z_le_dec (-1100) k) as [Hk'|Hk'].
- rewrite Z.max_l by lia.
  split.
  + apply (pred_round_le_id radix2 fexp64); auto with typeclass_instances.
  + apply (succ_round_ge_id radix2 fexp64); auto with typeclass_instances.
- rewrite Z.max_r by lia.
  assert (Hsmall : forall e, (e <= -1100)%Z -> Rabs (mm * bpow e) < bpow (-1099)).
  { intros e He. rewrite Rabs_mult, (Rabs_pos_eq (bpow e)) by apply bpow_ge_0.
    assert (bpow e <= bpow (-1100)) by (apply bpow_le; lia).
    assert (bpow (-1100) * 2 = bpow (-1099)).
    { replace (-1099)%Z with (-1100 + 1)%Z by lia. rewrite bpow_plus. reflexivity. }
    assert (0 < bpow e) by apply bpow_gt_0. nra. }
  assert (H0 : RN64 (mm * bpow (-1100)) = 0).
  { apply RN_tiny. apply Rlt_trans with (bpow (-1099)).
    apply Hsmall; lia. apply bpow_lt; lia. }
  rewrite H0, pred_0, succ_0, ulp_FLT_0 by auto with typeclass_instances.
  assert (Hk2 := Hsmall k ltac:(lia)).
  assert (bpow (-1099) < bpow (-1074)) by (apply bpow_lt; lia).
  apply Rabs_def2 in Hk2. lra.
Qed.

End Scaled.

Print Assumptions ldexp_bound_bounds.
