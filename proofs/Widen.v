(** * any.rs kop/widen: the library's widening contains every K-ulp result

    kop computes, in binary64 with round/mod.rs's directed operations,
      rho  = add_up(u, mul_up(4K, u)),   eta' = mul_up(2K + 1, eta),
    and widen turns an interval [lo, hi] into
      lo' = add_down(add_down(lo, -mul_up(rho, |lo|)), -eta'),
      hi' = add_up(add_up(hi, mul_up(rho, |hi|)), eta').
    Claim: for every real t in [lo, hi] and every value K steps along the floats of the
    runtime's format from RN(t) (Any.v's walk), lo' <= value <= hi'. The runtime's format
    is any FLT emin prec; the code's u, eta (binary64 values) are at least 2^-prec and half
    the subnormal spacing 2^emin / 2; 4K and 2K + 1 are the exact binary64 values the code
    forms (K <= 2^20); rho <= 1 (the code's K <= 2^(p-4) keeps rho <= 1/4 + u). Not
    covered: the flush (FTZ) hull, the 16-bit grid rounding and the +-MAX cut that follow
    (each only widens the interval further). *)

From Coq Require Import Reals Lia Lra List.
From Flocq Require Import Core.
From BnboundProofs Require Import Add Mul Interval Any.
Import ListNotations.
Open Scope R_scope.

Notation fexp64 := (FLT_exp (-1074) 53).
Notation F64 := (generic_format radix2 fexp64).

Section Widen.

Variable choice : Z -> bool.
Hypothesis choice_sym : forall z, choice z = negb (choice (- (z + 1))).

Definition widen_lo (rho eta' lo : R) :=
  add_down choice (add_down choice lo (- mul_up choice rho (Rabs lo))) (- eta').
Definition widen_hi (rho eta' hi : R) :=
  add_up choice (add_up choice hi (mul_up choice rho (Rabs hi))) eta'.

Lemma mul_up_F : forall a b, F64 (mul_up choice a b).
Proof. intros; apply mul_up_format. Qed.

(** The widened interval contains t - rho|t| - eta' ... t + rho|t| + eta' for t in
    [lo, hi] (rho <= 1 makes t -/+ rho|t| increasing). *)
Lemma widen_covers :
  forall rho eta' lo hi t, F64 rho -> F64 eta' -> F64 lo -> F64 hi -> 0 <= rho <= 1 ->
  lo <= t <= hi ->
  widen_lo rho eta' lo <= t - rho * Rabs t - eta' /\
  t + rho * Rabs t + eta' <= widen_hi rho eta' hi.
Proof.
intros rho eta' lo hi t Fr Fe Fl Fh Hr Ht.
assert (Fal : F64 (Rabs lo)) by (apply generic_format_abs; exact Fl).
assert (Fah : F64 (Rabs hi)) by (apply generic_format_abs; exact Fh).
assert (Ml := mul_up_ge choice rho (Rabs lo) Fr Fal).
assert (Mh := mul_up_ge choice rho (Rabs hi) Fr Fah).
assert (Fml : F64 (- mul_up choice rho (Rabs lo))) by (apply generic_format_opp, mul_up_F).
assert (A1 := add_down_le choice choice_sym lo _ Fl Fml).
assert (A2 := add_down_le choice choice_sym (add_down choice lo (- mul_up choice rho (Rabs lo)))
                (- eta') (add_down_format choice _ _) (generic_format_opp _ _ _ Fe)).
assert (B1 := add_up_ge choice choice_sym hi _ Fh (mul_up_F rho (Rabs hi))).
assert (B2 := add_up_ge choice choice_sym (add_up choice hi (mul_up choice rho (Rabs hi))) eta'
                (add_up_format' choice _ _) Fe).
unfold widen_lo, widen_hi.
(* monotonicity of t - rho|t| and t + rho|t| *)
assert (Lo : lo - rho * Rabs lo <= t - rho * Rabs t).
{ unfold Rabs; destruct Rcase_abs; destruct Rcase_abs; nra. }
assert (Hi : t + rho * Rabs t <= hi + rho * Rabs hi).
{ unfold Rabs; destruct Rcase_abs; destruct Rcase_abs; nra. }
split; lra.
Qed.

Variables emin prec : Z.
Hypothesis Hprec : (2 <= prec)%Z.
Notation RN := (round radix2 (FLT_exp emin prec) (Znearest choice)).

(** any.rs kop + widen: for every t in [lo, hi] and every K-step walk bs from RN(t),
    the walk's value lies in [widen_lo, widen_hi] with the code's rho and eta'. *)
Theorem kop_widen_contains :
  forall (uc ec k4 k21 lo hi t : R) (bs : list bool),
  F64 uc -> F64 ec -> F64 k4 -> F64 k21 -> F64 lo -> F64 hi ->
  bpow radix2 (- prec) <= uc -> bpow radix2 emin / 2 <= ec ->
  k4 = 4 * INR (length bs) -> k21 = 2 * INR (length bs) + 1 ->
  INR (length bs) <= bpow radix2 (prec - 2) ->
  let rho := add_up choice uc (mul_up choice k4 uc) in
  let eta' := mul_up choice k21 ec in
  rho <= 1 -> lo <= t <= hi ->
  widen_lo rho eta' lo <= walk emin prec bs (RN t) /\
  walk emin prec bs (RN t) <= widen_hi rho eta' hi.
Proof.
intros uc ec k4 k21 lo hi t bs Fu Fe F4 F21 Fl Fh Hu He H4 H21 HK rho eta' Hr1 Ht.
assert (Hm := kulp_model emin prec Hprec choice t bs HK).
unfold u, eta in Hm.
set (K := INR (length bs)) in *.
assert (HK0 : 0 <= K) by apply pos_INR.
(* rho >= u + 4Ku and eta' >= (2K + 1) eta *)
assert (M4 := mul_up_ge choice k4 uc F4 Fu).
assert (Hrho : uc + k4 * uc <= rho).
{ assert (A := add_up_ge choice choice_sym uc (mul_up choice k4 uc) Fu (mul_up_F k4 uc)).
  unfold rho. lra. }
assert (Hrho' : bpow radix2 (- prec) + 4 * K * bpow radix2 (- prec) <= rho).
{ rewrite H4 in Hrho. assert (0 <= bpow radix2 (- prec)) by apply bpow_ge_0. nra. }
assert (Heta : k21 * ec <= eta') by (apply mul_up_ge; assumption).
assert (Heta' : (2 * K + 1) * (bpow radix2 emin / 2) <= eta').
{ rewrite H21 in Heta. assert (0 <= bpow radix2 emin) by apply bpow_ge_0. nra. }
assert (Fr : F64 rho) by apply add_up_format'.
assert (Fe' : F64 eta') by apply mul_up_F.
assert (Hr0 : 0 <= rho).
{ assert (0 < bpow radix2 (- prec)) by apply bpow_gt_0. nra. }
destruct (widen_covers rho eta' lo hi t Fr Fe' Fl Fh ltac:(lra) Ht) as [Wl Wh].
set (f := walk emin prec bs (RN t)) in *.
assert (Ha : 0 <= Rabs t) by apply Rabs_pos.
assert (E : Rabs (f - t) <= rho * Rabs t + eta').
{ apply Rle_trans with (1 := Hm). nra. }
apply Rabs_le_inv in E.
split; lra.
Qed.

End Widen.

Print Assumptions kop_widen_contains.
