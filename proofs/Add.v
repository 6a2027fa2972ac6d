(** * The scalar directed addition (round/mod.rs add_down, add_up)

    add_down(a, b): s = RN(a + b); the 2Sum residual e = (a - (s - bb)) + (b - bb) with
    bb = s - a (Knuth; every operation rounded to nearest); s if e >= 0, else
    next_down(s) = pred(s). Claim: the result is <= a + b, for all binary64 a, b (finite,
    so s finite: overflow and infinite operands are handled by explicit code). Flocq's
    [TwoSum_correct] (Pff2Flocq, Boldo and Melquiond) gives s + e = a + b exactly, for any
    tie-breaking rule symmetric under negation (ties-to-even is). add_up(a, b) =
    0 - add_down(-a, -b) (the mirror; 0 - x is -x as a real). These discharge hypothesis A
    of Dot.v for float operands. *)

From Coq Require Import Reals Lia Lra.
From Flocq Require Import Core Pff.Pff2Flocq.
Open Scope R_scope.

Global Instance prec_gt_0_53 : Prec_gt_0 53. Proof. easy. Qed.

Notation fexp64 := (FLT_exp (-1074) 53).
Notation F64 := (generic_format radix2 fexp64).

Section Add.

Variable choice : Z -> bool.
Hypothesis choice_sym : forall z, choice z = negb (choice (- (z + 1))).
Notation RN64 := (round radix2 fexp64 (Znearest choice)).

Definition add_down (a b : R) : R :=
  let s := RN64 (a + b) in
  let bb := RN64 (s - a) in
  let e := RN64 (RN64 (a - RN64 (s - bb)) + RN64 (b - bb)) in
  if Rle_dec 0 e then s else pred radix2 fexp64 s.

Definition add_up (a b : R) : R := 0 - add_down (- a) (- b).


(** The result is a binary64 float. *)
Lemma add_down_format : forall a b, F64 (add_down a b).
Proof.
intros a b; unfold add_down.
destruct Rle_dec.
- apply generic_format_round; auto with typeclass_instances.
- apply generic_format_pred; auto with typeclass_instances.
  apply generic_format_round; auto with typeclass_instances.
Qed.

(** round/mod.rs add_down: <= a + b. *)
Theorem add_down_le : forall a b, F64 a -> F64 b -> add_down a b <= a + b.
Proof.
intros a b Fa Fb; unfold add_down.
assert (Hts := TwoSum_correct (-1074) 53 choice (eq_refl) (ltac:(easy)) choice_sym a b Fa Fb).
simpl in Hts.
destruct Rle_dec as [He|He].
- lra.
- apply (pred_round_le_id radix2 fexp64); auto with typeclass_instances.
Qed.

(** round/mod.rs add_up: >= a + b. *)
Theorem add_up_ge : forall a b, F64 a -> F64 b -> a + b <= add_up a b.
Proof.
intros a b Fa Fb; unfold add_up.
assert (H := add_down_le (- a) (- b)
  (generic_format_opp _ _ _ Fa) (generic_format_opp _ _ _ Fb)).
lra.
Qed.

End Add.

(** Rust's ties-to-even satisfies the symmetry hypothesis. *)
Lemma ties_to_even_sym :
  forall z, negb (Z.even z) = negb (negb (Z.even (- (z + 1)))).
Proof.
intros z; rewrite Bool.negb_involutive.
rewrite Z.even_opp, Z.even_add; simpl.
destruct (Z.even z); reflexivity.
Qed.

Print Assumptions add_down_le.
Print Assumptions add_up_ge.
