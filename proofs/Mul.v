(** * Products (round/mod.rs mul_down, mul_up, fma_down, fma_up; lanes.rs lane_mul_below, f32_mul_below)

    mul_down(a, b): 0 if a factor is 0; else p = RN(a*b) and the FMA residual
    e = RN(a*b - p); the residual is trusted when e <> 0 (rounding to nearest never flips a
    sign) or |p| >= 2^-968 (then a*b - p is a float: Flocq's [mult_error_FLT], since
    |a*b| >= 2^-969 = 2^(emin + 2p - 1)); the result is p when the trusted e is >= 0, else
    next_down(p) = pred(p). Claim: the result is <= a*b for all binary64 a, b (finite: the
    code's overflow and infinity cases are argued in its comments). mul_up(a, b) =
    0 - mul_down(-a, b). *)

From Coq Require Import Reals Lia Lra.
From Flocq Require Import Core Mult_error.
From BnboundProofs Require Import Lanes Narrow.
Open Scope R_scope.

Notation fexp64 := (FLT_exp (-1074) 53).
Notation F64 := (generic_format radix2 fexp64).

Section Mul.

Variable choice : Z -> bool.
Notation RN64 := (round radix2 fexp64 (Znearest choice)).

(** residual_safe() = 2^-968. *)
Definition residual_safe := bpow radix2 (-968).

Definition mul_down (a b : R) : R :=
  if Req_EM_T a 0 then 0 else if Req_EM_T b 0 then 0 else
  let p := RN64 (a * b) in
  let e := RN64 (a * b + - p) in
  if Rle_dec 0 e then
    (if Req_EM_T e 0 then
       (if Rle_dec residual_safe (Rabs p) then p else pred radix2 fexp64 p)
     else p)
  else pred radix2 fexp64 p.

Definition mul_up (a b : R) : R := 0 - mul_down (- a) b.

(** round/mod.rs mul_down: <= a*b. *)
Theorem mul_down_le : forall a b, F64 a -> F64 b -> mul_down a b <= a * b.
Proof.
intros a b Fa Fb; unfold mul_down.
destruct (Req_EM_T a 0) as [Ha|Ha]; [subst; lra|].
destruct (Req_EM_T b 0) as [Hb|Hb]; [subst; lra|].
set (p := RN64 (a * b)).
assert (Hpred : pred radix2 fexp64 p <= a * b)
  by (apply (pred_round_le_id radix2 fexp64); auto with typeclass_instances).
set (e := RN64 (a * b + - p)).
destruct (Rle_dec 0 e) as [He|He]; [|exact Hpred].
destruct (Req_EM_T e 0) as [Hz|Hz].
- destruct (Rle_dec residual_safe (Rabs p)) as [Hs|Hs]; [|exact Hpred].
  (* the residual is exact: a*b - p is a float *)
  assert (Hbig : a * b <> 0 -> bpow radix2 (-1074 + 2 * 53 - 1) <= Rabs (a * b)).
  { intros _. simpl.
    destruct (Rle_or_lt (bpow radix2 (-969)) (Rabs (a * b))) as [H|H]; [exact H|].
    exfalso.
    assert (Hf : F64 (bpow radix2 (-969)))
      by (apply generic_format_FLT_bpow; auto with typeclass_instances; lia).
    assert (Hp : Rabs p <= bpow radix2 (-969)).
    { apply abs_round_le_generic; auto with typeclass_instances. lra. }
    unfold residual_safe in Hs.
    assert (bpow radix2 (-969) < bpow radix2 (-968)) by (apply bpow_lt; lia).
    lra. }
  assert (Hx := mult_error_FLT radix2 (-1074) 53 (Znearest choice) a b Fa Fb Hbig).
  fold p in Hx.
  assert (Fr : F64 (a * b + - p)).
  { replace (a * b + - p) with (- (p - a * b)) by ring.
    apply generic_format_opp; exact Hx. }
  unfold e in Hz.
  rewrite (round_generic radix2 fexp64 (Znearest choice) _ Fr) in Hz.
  lra.
- (* e > 0: a*b - p > 0, since a*b - p <= 0 would round to a value <= 0 *)
  destruct (Rle_or_lt (a * b + - p) 0) as [Hn|Hn]; [|lra].
  exfalso.
  assert (e <= 0).
  { unfold e. rewrite <- (round_0 radix2 fexp64 (Znearest choice)).
    apply round_le; auto with typeclass_instances. }
  lra.
Qed.

(** round/mod.rs mul_up: >= a*b. *)
Theorem mul_up_ge : forall a b, F64 a -> F64 b -> a * b <= mul_up a b.
Proof.
intros a b Fa Fb; unfold mul_up.
assert (H := mul_down_le (- a) b (generic_format_opp _ _ _ Fa) Fb).
lra.
Qed.

(** round/mod.rs fma_down (portable, no residual): c for a zero factor, else
    next_down(RN(a*b + c)) = pred(RN(a*b + c)). Claim: <= a*b + c, for every real c.
    fma_up(a, b, c) = 0 - fma_down(-a, b, -c). *)
Definition fma_down_portable (a b c : R) : R :=
  if Req_EM_T a 0 then c else if Req_EM_T b 0 then c else
  pred radix2 fexp64 (RN64 (a * b + c)).

Theorem fma_down_portable_le : forall a b c, fma_down_portable a b c <= a * b + c.
Proof.
intros a b c; unfold fma_down_portable.
destruct (Req_EM_T a 0) as [Ha|Ha]; [subst; lra|].
destruct (Req_EM_T b 0) as [Hb|Hb]; [subst; lra|].
apply (pred_round_le_id radix2 fexp64); auto with typeclass_instances.
Qed.

Theorem fma_up_portable_ge :
  forall a b c, a * b + c <= 0 - fma_down_portable (- a) b (- c).
Proof.
intros a b c.
assert (H := fma_down_portable_le (- a) b (- c)).
lra.
Qed.

(** Above 2^-968 the FMA residual is exact. *)
Lemma residual_exact :
  forall a b, F64 a -> F64 b -> residual_safe <= Rabs (RN64 (a * b)) ->
  RN64 (a * b + - RN64 (a * b)) = a * b - RN64 (a * b).
Proof.
intros a b Fa Fb Hs.
set (p := RN64 (a * b)) in *.
assert (Hbig : a * b <> 0 -> bpow radix2 (-1074 + 2 * 53 - 1) <= Rabs (a * b)).
{ intros _. simpl.
  destruct (Rle_or_lt (bpow radix2 (-969)) (Rabs (a * b))) as [H|H]; [exact H|].
  exfalso.
  assert (Hf : F64 (bpow radix2 (-969)))
    by (apply generic_format_FLT_bpow; auto with typeclass_instances; lia).
  assert (Hp : Rabs p <= bpow radix2 (-969)).
  { apply abs_round_le_generic; auto with typeclass_instances. lra. }
  unfold residual_safe in Hs.
  assert (bpow radix2 (-969) < bpow radix2 (-968)) by (apply bpow_lt; lia).
  lra. }
assert (Hx := mult_error_FLT radix2 (-1074) 53 (Znearest choice) a b Fa Fb Hbig).
fold p in Hx.
assert (Fr : F64 (a * b + - p)).
{ replace (a * b + - p) with (- (p - a * b)) by ring.
  apply generic_format_opp; exact Hx. }
rewrite (round_generic radix2 fexp64 (Znearest choice) _ Fr).
ring.
Qed.

(** lanes.rs lane_mul_below::<true>: p kept when the residual is >= 0 and |p| >= 2^-968,
    or a factor is 0; else lane_below::<true>(p). ::<false>: lane_below::<false>(p).
    Both are <= a*b. *)
Theorem lane_mul_below_le :
  forall a b, F64 a -> F64 b ->
  (let p := RN64 (a * b) in
   let e := RN64 (a * b + - p) in
   let step := RN64 (p - RN64 (phi64 * Rabs p + eta64g p)) in
   if Req_EM_T a 0 then p else if Req_EM_T b 0 then p else
   if Rle_dec 0 e then (if Rle_dec residual_safe (Rabs p) then p else step) else step)
  <= a * b /\
  (let p := RN64 (a * b) in
   RN64 (p - RN64 (RN64 (phi64 * Rabs p) + eta64g p))) <= a * b.
Proof.
intros a b Fa Fb.
destruct (lane_below_le choice (a * b)) as [Hf Hn].
split; [|exact Hn].
cbv zeta.
destruct (Req_EM_T a 0) as [Ha|Ha].
{ replace (a * b) with 0 by (subst; ring). rewrite round_0; auto with typeclass_instances; lra. }
destruct (Req_EM_T b 0) as [Hb|Hb].
{ replace (a * b) with 0 by (subst; ring). rewrite round_0; auto with typeclass_instances; lra. }
destruct (Rle_dec 0 (RN64 (a * b + - RN64 (a * b)))) as [He|He]; [|exact Hf].
destruct (Rle_dec residual_safe (Rabs (RN64 (a * b)))) as [Hs|Hs]; [|exact Hf].
rewrite (residual_exact a b Fa Fb Hs) in He; lra.
Qed.

(** Every binary64 is an integer multiple of 2^-1074. *)
Lemma F64_multiple : forall x, F64 x -> exists m : Z, x = IZR m * bpow radix2 (-1074).
Proof.
intros x Fx.
destruct (FIX_format_generic radix2 (-1074) x
  (generic_format_FIX_FLT radix2 (-1074) 53 x Fx)) as [[m e] Hx He].
exists m. rewrite Hx. unfold F2R; simpl in *. now rewrite He.
Qed.

Notation RN32 := (round radix2 (FLT_exp (-149) 24) (Znearest choice)).

(** lanes.rs f32_mul_below::<true>: y = RN32(RN64(a*b)) kept when a factor is 0 or the
    residual d = RN64(a*b - y) is >= 0 with |RN64(a*b)| >= 2^-968 (then a*b - y is the sum
    of two binary64 values, a multiple of 2^-1074, so a negative one rounds to <= -2^-1074
    and d has its sign); otherwise one binary32 lane step below y. ::<false>:
    f32_below_bound::<false>(lane_mul_below::<false>(a, b)). Both are <= a*b. *)
Theorem f32_mul_below_le :
  forall a b, F64 a -> F64 b ->
  (let p := RN64 (a * b) in
   let y := RN32 p in
   let d := RN64 (a * b + - y) in
   let step := RN32 (y - RN32 (phi32 * Rabs y + eta32g y)) in
   if Req_EM_T a 0 then y else if Req_EM_T b 0 then y else
   if Rle_dec 0 d then (if Rle_dec residual_safe (Rabs p) then y else step) else step)
  <= a * b /\
  (let c := RN64 (RN64 (a * b) - RN64 (RN64 (phi64 * Rabs (RN64 (a * b))) + eta64g (RN64 (a * b)))) in
   let y := RN32 c in
   (if Rlt_dec c y then RN32 (y - RN32 (RN32 (phi32 * Rabs y) + eta32g y)) else y)) <= a * b.
Proof.
intros a b Fa Fb.
split.
- cbv zeta.
  destruct (f32_below_nearest_le choice (a * b)) as [Hstep _]. cbv zeta in Hstep.
  destruct (Req_EM_T a 0) as [Ha|Ha].
  { replace (a * b) with 0 by (subst; ring). rewrite !round_0; auto with typeclass_instances; lra. }
  destruct (Req_EM_T b 0) as [Hb|Hb].
  { replace (a * b) with 0 by (subst; ring). rewrite !round_0; auto with typeclass_instances; lra. }
  set (p := RN64 (a * b)) in *.
  set (y := RN32 p) in *.
  destruct (Rle_dec 0 (RN64 (a * b + - y))) as [Hd|Hd]; [|exact Hstep].
  destruct (Rle_dec residual_safe (Rabs p)) as [Hs|Hs]; [|exact Hstep].
  destruct (Rle_or_lt y (a * b)) as [Hy|Hy]; [exact Hy|].
  exfalso.
  (* a*b - y = (a*b - p) + (p - y), each a binary64 *)
  assert (He := residual_exact a b Fa Fb Hs). fold p in He.
  assert (F1 : F64 (a * b - p)) by (rewrite <- He; apply generic_format_round; auto with typeclass_instances).
  assert (Fp : F64 p) by (apply generic_format_round; auto with typeclass_instances).
  assert (Fy : F64 y).
  { apply binary32_in_binary64. apply generic_format_round; auto with typeclass_instances. }
  destruct (F64_multiple _ F1) as [m1 H1].
  destruct (F64_multiple _ Fp) as [m2 H2].
  destruct (F64_multiple _ Fy) as [m3 H3].
  assert (Hx : a * b + - y = IZR (m1 + m2 - m3) * bpow radix2 (-1074)).
  { rewrite minus_IZR, plus_IZR. replace (a * b + - y) with ((a * b - p) + p - y) by ring.
    rewrite H1, H2, H3. ring. }
  assert (Hneg : IZR (m1 + m2 - m3) < 0).
  { assert (0 < bpow radix2 (-1074)) by apply bpow_gt_0.
    destruct (Rlt_or_le (IZR (m1 + m2 - m3)) 0) as [Hm|Hm]; [exact Hm|].
    exfalso. assert (0 <= IZR (m1 + m2 - m3) * bpow radix2 (-1074)) by (apply Rmult_le_pos; lra).
    lra. }
  apply lt_IZR in Hneg.
  assert (Hle : IZR (m1 + m2 - m3) <= -1) by (apply IZR_le; lia).
  assert (Hx' : a * b + - y <= - bpow radix2 (-1074)).
  { rewrite Hx. assert (0 < bpow radix2 (-1074)) by apply bpow_gt_0. nra. }
  assert (Fe : F64 (- bpow radix2 (-1074))).
  { apply generic_format_opp, generic_format_FLT_bpow; auto with typeclass_instances; lia. }
  assert (RN64 (a * b + - y) <= - bpow radix2 (-1074)).
  { rewrite <- (round_generic radix2 fexp64 (Znearest choice) _ Fe).
    apply round_le; auto with typeclass_instances. }
  assert (0 < bpow radix2 (-1074)) by apply bpow_gt_0.
  lra.
- cbv zeta.
  set (c := RN64 (RN64 (a * b) - RN64 (RN64 (phi64 * Rabs (RN64 (a * b))) + eta64g (RN64 (a * b))))).
  assert (Hc : c <= a * b) by exact (proj2 (lane_below_le choice (a * b))).
  destruct (f32_below_bound_le choice c) as [_ [H2 H3]].
  cbv zeta in H2. lra.
Qed.

End Mul.

Print Assumptions mul_down_le.
Print Assumptions lane_mul_below_le.
Print Assumptions f32_mul_below_le.
Print Assumptions fma_down_portable_le.
Print Assumptions fma_up_portable_ge.
Print Assumptions mul_up_ge.
