(** * Narrowing a binary64 bound to binary32 (round/mod.rs f32_down, f32_up;
      lanes.rs f32_below_bound)

    f32_down(x): r = RN32(x); pred32(r) (next_down) if r > x, else r. Claim: this is
    RD32(x), the largest binary32 <= x, for every real x (in the code x is a finite
    binary64; +-oo and overflow are handled as argued in the code). f32_up(x) =
    -f32_down(-x) = RU32(x). f32_below_bound(b) is the branch-free variant: the binary32
    lane step of Lanes.v instead of next_down, so it is <= RD32(b) <= b. *)

From Coq Require Import Reals Lia Lra.
From Flocq Require Import Core.
From BnboundProofs Require Import Lanes.
Open Scope R_scope.

Notation fexp32 := (FLT_exp (-149) 24).
Notation F32 := (generic_format radix2 fexp32).
Notation RD32 := (round radix2 fexp32 Zfloor).
Notation RU32 := (round radix2 fexp32 Zceil).

Section Narrow.

Variable choice : Z -> bool.
Notation RN32 := (round radix2 fexp32 (Znearest choice)).
Notation pred32 := (pred radix2 fexp32).

Definition f32_down (x : R) : R :=
  let r := RN32 x in if Rlt_dec x r then pred32 r else r.

Definition f32_up (x : R) : R := - f32_down (- x).

(** round/mod.rs f32_down: exactly RD32(x). *)
Theorem f32_down_exact : forall x, f32_down x = RD32 x.
Proof.
intros x; unfold f32_down.
destruct (round_DN_or_UP radix2 fexp32 (Znearest choice) x) as [Hd|Hu].
- destruct (Rlt_dec x (RN32 x)) as [Hlt|Hge].
  + exfalso. generalize (round_DN_pt radix2 fexp32 x); intros [_ [H _]]. lra.
  + exact Hd.
- destruct (Rlt_dec x (RN32 x)) as [Hlt|Hge].
  + rewrite Hu.
    apply pred_UP_eq_DN; auto with typeclass_instances.
    intros Fx. rewrite (round_generic radix2 fexp32 (Znearest choice) x Fx) in Hlt. lra.
  + assert (Hx : RN32 x = x).
    { generalize (round_UP_pt radix2 fexp32 x); intros [_ [H _]]. lra. }
    assert (Fx : F32 x) by (rewrite <- Hx; apply generic_format_round; auto with typeclass_instances).
    rewrite Hx, round_generic; auto with typeclass_instances.
Qed.

(** round/mod.rs f32_up: exactly RU32(x). *)
Theorem f32_up_exact : forall x, f32_up x = RU32 x.
Proof.
intros x; unfold f32_up.
rewrite f32_down_exact, round_DN_opp; ring.
Qed.

(** lanes.rs f32_below_bound::<true> and ::<false>: <= RD32(b) <= b. *)
Theorem f32_below_bound_le :
  forall b, let y := RN32 b in
  (if Rlt_dec b y then RN32 (y - RN32 (phi32 * Rabs y + eta32g y)) else y) <= RD32 b /\
  (if Rlt_dec b y then RN32 (y - RN32 (RN32 (phi32 * Rabs y) + eta32g y)) else y) <= RD32 b /\
  RD32 b <= b.
Proof.
intros b y.
assert (Fy : F32 y) by (apply generic_format_round; auto with typeclass_instances).
assert (Hdown := f32_down_exact b). unfold f32_down in Hdown. fold y in Hdown.
assert (Hrd : RD32 b <= b) by (generalize (round_DN_pt radix2 fexp32 b); intros [_ [H _]]; exact H).
destruct (Rlt_dec b y) as [Hlt|Hge].
- rewrite <- Hdown.
  split; [apply lane_below32_le_pred; auto|split; [apply lane_below32_nofma_le_pred; auto|lra]].
- rewrite <- Hdown. split; [lra|split; lra].
Qed.

End Narrow.

Print Assumptions f32_down_exact.
Print Assumptions f32_up_exact.
Print Assumptions f32_below_bound_le.
