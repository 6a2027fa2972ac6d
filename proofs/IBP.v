(** * The IBP image of one element

    For a channel with scale s in [s_lo, s_hi] (known sign, or any s if the box is valid
    in the sense of Dot.v), offset o in [o_lo, o_hi] and input x in [x_lo, x_hi], the
    kernels compute the lower bound from a = x_lo (s >= 0) or x_hi (s <= 0, the caller
    swaps the inputs), with the scale end chosen by the sign of a (s_lo where a >= 0, s_hi
    elsewhere), and the upper bound the mirrored way. Reusing Dot.v's [term] with
    Lam := x and q := s, this file proves that every path's bounds contain s*x + o:
    - AVX-512 and MXCSR kernels: RD64(s_a * a + o_lo) (f64), RD32 of it (f32, store_down),
      and RU64(s_b * b + o_hi), RU32 of it;
    - the lane kernels (kernel/mod.rs lower): lane_below(lane_fma_for_below(s_a, a, o_lo))
      (f64) and f32_below_nearest(lane_fma_for_below(s_a, a, o_lo)) (f32), with and without
      FMA; their upper bound is literally -lower(-s_hi, -s_lo, -o_hi, x), the lower bound
      of the mirrored box (see [ibp_lane_upper]).
    OFFSET = false (the scaling map) is the case o_lo = o = o_hi = 0. *)

From Coq Require Import Reals Lia Lra.
From Flocq Require Import Core.
From BnboundProofs Require Import Directed Lanes Dot.
Open Scope R_scope.

Notation fexp64 := (FLT_exp (-1074) 53).
Notation RD64 := (round radix2 fexp64 Zfloor).
Notation RU64 := (round radix2 fexp64 Zceil).
Notation RD32 := (round radix2 (FLT_exp (-149) 24) Zfloor).
Notation RU32 := (round radix2 (FLT_exp (-149) 24) Zceil).

(** avx512.rs lower/upper + store_down/store_up, mxcsr.rs block/row: both bounds, f64
    and f32, contain s*x + o. *)
Theorem ibp_directed_bounds :
  forall t o_lo o o_hi, valid t -> o_lo <= o <= o_hi ->
  RD64 (qa t * a t + o_lo) <= exact t + o /\
  RD32 (RD64 (qa t * a t + o_lo)) <= exact t + o /\
  exact t + o <= RU64 (qb t * b t + o_hi) /\
  exact t + o <= RU32 (RU64 (qb t * b t + o_hi)).
Proof.
intros t o_lo o o_hi Ht Ho.
assert (Hl := step_rd_le t o_lo Ht). unfold step_rd in Hl.
assert (Hu := step_ru_ge t o_hi Ht). unfold step_ru in Hu.
rewrite store_down_exact, store_up_exact.
destruct (fma_down_le_b32 (qa t) (a t) o_lo) as [H32 _].
destruct (fma_up_ge_b32 (qb t) (b t) o_hi) as [_ [U32 _]].
generalize (corner_le t Ht) (corner_ge t Ht).
repeat split; lra.
Qed.

Section Lane.
Variable choice : Z -> bool.
Notation RN64 := (round radix2 fexp64 (Znearest choice)).
Notation RN32 := (round radix2 (FLT_exp (-149) 24) (Znearest choice)).

(** kernel/mod.rs lower::<f64> and lower::<f32>, with and without FMA. *)
Theorem ibp_lane_lower :
  forall t o_lo o, valid t -> o_lo <= o ->
  (* f64, FMA *)
  (let r := RN64 (qa t * a t + o_lo) in
   RN64 (r - RN64 (phi64 * Rabs r + eta64g r)) <= exact t + o) /\
  (* f64, no FMA *)
  step_lane_nofma choice t o_lo <= exact t + o /\
  (* f32, FMA: f32_below_nearest::<true>(RN64(s_a * a + o_lo)) *)
  (let y := RN32 (RN64 (qa t * a t + o_lo)) in
   RN32 (y - RN32 (phi32 * Rabs y + eta32g y)) <= exact t + o) /\
  (* f32, no FMA: f32_below_nearest::<false>(lane_fma_for_below::<false>(s_a, a, o_lo)) *)
  (let p := RN64 (qa t * a t) in
   let l := RN64 (p - RN64 (RN64 (phi64 * Rabs p) + eta64g p)) in
   let y := RN32 (RN64 (l + o_lo)) in
   RN32 (y - RN32 (RN32 (phi32 * Rabs y) + eta32g y)) <= exact t + o).
Proof.
intros t o_lo o Ht Ho.
assert (Hc := corner_le t Ht).
repeat split.
- assert (H := step_lane_le choice t o_lo Ht). unfold step_lane in H. lra.
- assert (H := step_lane_nofma_le choice t o_lo Ht). lra.
- destruct (f32_below_nearest_le choice (qa t * a t + o_lo)) as [H _]. cbv zeta in H. lra.
- cbv zeta.
  set (p := RN64 (qa t * a t)).
  set (l := RN64 (p - RN64 (RN64 (phi64 * Rabs p) + eta64g p))).
  assert (Hl : l <= qa t * a t) by exact (proj2 (lane_below_le choice (qa t * a t))).
  destruct (f32_below_nearest_le choice (l + o_lo)) as [_ H]. cbv zeta in H. lra.
Qed.

(** The upper bound is the lower bound of the mirrored box: for the term t' with scale
    -s in [-s_hi, -s_lo] and offset -o, lower(t') <= -s*x - o, so -lower(t') >= s*x + o. *)
Theorem ibp_lane_upper :
  forall t' o o_hi, valid t' -> o <= o_hi ->
  (let r := RN64 (qa t' * a t' + - o_hi) in
   lam t' * - q t' + o <= - RN64 (r - RN64 (phi64 * Rabs r + eta64g r))) /\
  lam t' * - q t' + o <= - step_lane_nofma choice t' (- o_hi).
Proof.
intros t' o o_hi Ht Ho.
destruct (ibp_lane_lower t' (- o_hi) (- o) Ht ltac:(lra)) as [H1 [H2 _]].
unfold exact in *. cbv zeta in *. split; lra.
Qed.

End Lane.

Print Assumptions ibp_directed_bounds.
Print Assumptions ibp_lane_lower.
Print Assumptions ibp_lane_upper.
