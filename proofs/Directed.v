(** * Directed primitives

    The AVX-512 kernels ([src/kernel/avx512/round.rs]) compute each bound with one instruction
    carrying its own rounding direction ({rd-sae}/{ru-sae}); the MXCSR kernels
    ([src/kernel/mxcsr.rs]) run the same instructions with MXCSR's rounding control set
    toward -oo (or +oo). IEEE 754 defines the result of such an instruction as the exact
    real result (a*b+c for an FMA) rounded in that direction. This file proves, for binary64
    and binary32 with gradual underflow (Flocq's [FLT_exp]):
    - the result rounded toward -oo is <= the exact value, and is the largest float that is;
    - the upward bound is the mirror: -RD(-w) = RU(w), and RU(w) >= w;
    - narrowing a rounded-down binary64 to binary32 rounding down gives the binary32
      rounding down of the exact value: RD32(RD64 w) = RD32 w (and the same upward).
    Flocq's rounding is unbounded (no overflow). Under IEEE overflow RD(w) is -oo for
    w < -MAX and MAX for w > MAX, both <= w (and RU mirrors it); argued in the code. *)

From Coq Require Import Reals Lia Lra.
From Flocq Require Import Core.
Open Scope R_scope.

Section Generic.

Variables emin prec : Z.
Context { prec_gt_0_ : Prec_gt_0 prec }.

Notation fexp := (FLT_exp emin prec).
Notation F := (generic_format radix2 fexp).
Notation RD := (round radix2 fexp Zfloor).
Notation RU := (round radix2 fexp Zceil).

(** RD w is a float, is <= w, and is the largest float <= w. *)
Lemma rd_largest_below :
  forall w, F (RD w) /\ RD w <= w /\ (forall f, F f -> f <= w -> f <= RD w).
Proof.
intros w.
destruct (round_DN_pt radix2 fexp w) as [H1 [H2 H3]].
repeat split; auto.
Qed.

(** RU w is a float, is >= w, is the smallest float >= w, and equals -RD(-w). *)
Lemma ru_mirror_smallest_above :
  forall w, RU w = - RD (- w) /\ w <= RU w /\ (forall f, F f -> w <= f -> RU w <= f).
Proof.
intros w.
destruct (round_UP_pt radix2 fexp w) as [H1 [H2 H3]].
repeat split; auto.
rewrite round_DN_opp; ring.
Qed.

End Generic.

(** Every float of the narrower format is a float of the wider one; then rounding down
    twice (wide, then narrow) equals rounding down once to the narrow format. *)
Lemma double_round_DN :
  forall (fexp1 fexp2 : Z -> Z) { V1 : Valid_exp fexp1 } { V2 : Valid_exp fexp2 },
  (forall x, generic_format radix2 fexp1 x -> generic_format radix2 fexp2 x) ->
  forall w,
  round radix2 fexp1 Zfloor (round radix2 fexp2 Zfloor w) = round radix2 fexp1 Zfloor w.
Proof.
intros fexp1 fexp2 V1 V2 Hinc w.
destruct (round_DN_pt radix2 fexp1 w) as [Ff [Hfw Hfmax]].
destruct (round_DN_pt radix2 fexp2 w) as [Fd [Hdw Hdmax]].
set (f := round radix2 fexp1 Zfloor w) in *.
set (d := round radix2 fexp2 Zfloor w) in *.
assert (Hfd : f <= d) by (apply Hdmax; [apply Hinc; exact Ff | exact Hfw]).
apply Rle_antisym.
- unfold f; apply round_le; auto with typeclass_instances.
- destruct (round_DN_pt radix2 fexp1 d) as [_ [_ Hmax]].
  apply Hmax; assumption.
Qed.

Lemma double_round_UP :
  forall (fexp1 fexp2 : Z -> Z) { V1 : Valid_exp fexp1 } { V2 : Valid_exp fexp2 },
  (forall x, generic_format radix2 fexp1 x -> generic_format radix2 fexp2 x) ->
  forall w,
  round radix2 fexp1 Zceil (round radix2 fexp2 Zceil w) = round radix2 fexp1 Zceil w.
Proof.
intros fexp1 fexp2 V1 V2 Hinc w.
destruct (round_UP_pt radix2 fexp1 w) as [Ff [Hwf Hfmin]].
destruct (round_UP_pt radix2 fexp2 w) as [Fd [Hwd Hdmin]].
set (f := round radix2 fexp1 Zceil w) in *.
set (d := round radix2 fexp2 Zceil w) in *.
assert (Hdf : d <= f) by (apply Hdmin; [apply Hinc; exact Ff | exact Hwf]).
apply Rle_antisym.
- destruct (round_UP_pt radix2 fexp1 d) as [_ [_ Hmin]].
  apply Hmin; assumption.
- unfold f; apply round_le; auto with typeclass_instances.
Qed.

(** ** binary64 and binary32 *)

Notation fexp64 := (FLT_exp (-1074) 53).
Notation fexp32 := (FLT_exp (-149) 24).
Notation F64 := (generic_format radix2 fexp64).
Notation F32 := (generic_format radix2 fexp32).
Notation RD64 := (round radix2 fexp64 Zfloor).
Notation RU64 := (round radix2 fexp64 Zceil).
Notation RD32 := (round radix2 fexp32 Zfloor).
Notation RU32 := (round radix2 fexp32 Zceil).

Global Instance prec_gt_0_53 : Prec_gt_0 53. Proof. easy. Qed.
Global Instance prec_gt_0_24 : Prec_gt_0 24. Proof. easy. Qed.

Lemma binary32_in_binary64 : forall x, F32 x -> F64 x.
Proof.
intros x Fx.
apply generic_inclusion_mag with (fexp1 := fexp32); auto with typeclass_instances.
intros _; unfold FLT_exp; lia.
Qed.

(** avx512::fma_down (vfmadd with {rd-sae}), and the MXCSR kernels' FMAs under RC = down:
    the result is <= a*b+c and is the largest binary64 that is. *)
Theorem fma_down_le :
  forall a b c : R,
  RD64 (a * b + c) <= a * b + c /\
  (forall f, F64 f -> f <= a * b + c -> f <= RD64 (a * b + c)).
Proof.
intros a b c.
destruct (rd_largest_below (-1074) 53 (a * b + c)) as [_ [H1 H2]]; auto.
Qed.

(** avx512::fma_up ({ru-sae}): the mirror -RD(-(a*b+c)) = RU(a*b+c) >= a*b+c, the smallest. *)
Theorem fma_up_ge :
  forall a b c : R,
  RU64 (a * b + c) = - RD64 (- (a * b + c)) /\
  a * b + c <= RU64 (a * b + c) /\
  (forall f, F64 f -> a * b + c <= f -> RU64 (a * b + c) <= f).
Proof.
intros a b c.
exact (ru_mirror_smallest_above (-1074) 53 (a * b + c)).
Qed.

(** The binary32 instance (the f32 lanes of the MXCSR kernels round in binary32). *)
Theorem fma_down_le_b32 :
  forall a b c : R,
  RD32 (a * b + c) <= a * b + c /\
  (forall f, F32 f -> f <= a * b + c -> f <= RD32 (a * b + c)).
Proof.
intros a b c.
destruct (rd_largest_below (-149) 24 (a * b + c)) as [_ [H1 H2]]; auto.
Qed.

Theorem fma_up_ge_b32 :
  forall a b c : R,
  RU32 (a * b + c) = - RD32 (- (a * b + c)) /\
  a * b + c <= RU32 (a * b + c) /\
  (forall f, F32 f -> a * b + c <= f -> RU32 (a * b + c) <= f).
Proof.
intros a b c.
exact (ru_mirror_smallest_above (-149) 24 (a * b + c)).
Qed.

(** avx512::store_down (vcvtpd2ps with {rd-sae} of a lane that is RD64 of the exact value):
    the stored binary32 is RD32 of the exact value, the largest binary32 <= it. *)
Theorem store_down_exact : forall w : R, RD32 (RD64 w) = RD32 w.
Proof.
intros w.
apply double_round_DN; auto with typeclass_instances.
exact binary32_in_binary64.
Qed.

(** avx512::store_up: the same upward. *)
Theorem store_up_exact : forall w : R, RU32 (RU64 w) = RU32 w.
Proof.
intros w.
apply double_round_UP; auto with typeclass_instances.
exact binary32_in_binary64.
Qed.

Print Assumptions fma_down_le.
Print Assumptions fma_up_ge.
Print Assumptions fma_down_le_b32.
Print Assumptions fma_up_ge_b32.
Print Assumptions store_down_exact.
Print Assumptions store_up_exact.
