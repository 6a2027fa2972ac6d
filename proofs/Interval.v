(** * The interval tails

    mul_bounds(al, ah, xl, xh): the minimum of the four corner products rounded by
    mul_down, and the maximum of the four rounded by mul_up. dot_bounds: from [c_lo, c_hi],
    for each term lo := add_down(lo, pl), hi := add_up(hi, ph) with (pl, ph) the
    mul_bounds of the term. Claim: for every a_j in [a_lo_j, a_hi_j], x_j in [x_lo_j,
    x_hi_j] and c in [c_lo, c_hi], lo <= c + sum a_j*x_j <= hi. Endpoints are finite
    binary64 here; the code's conventions for infinite endpoints (0 * oo = 0, an undefined
    oo - oo sum giving -oo / +oo) are argued in round/mod.rs. *)

From Coq Require Import Reals Lia Lra List.
From Flocq Require Import Core.
From BnboundProofs Require Import Add Mul Channel.
Import ListNotations.
Open Scope R_scope.

Notation fexp64 := (FLT_exp (-1074) 53).
Notation F64 := (generic_format radix2 fexp64).

Section Interval.

Variable choice : Z -> bool.
Hypothesis choice_sym : forall z, choice z = negb (choice (- (z + 1))).
Notation RN64 := (round radix2 fexp64 (Znearest choice)).

Definition mul_bounds (al ah xl xh : R) : R * R :=
  (Rmin (Rmin (Rmin (mul_down choice al xl) (mul_down choice al xh))
              (mul_down choice ah xl)) (mul_down choice ah xh),
   Rmax (Rmax (Rmax (mul_up choice al xl) (mul_up choice al xh))
              (mul_up choice ah xl)) (mul_up choice ah xh)).

Lemma mul_down_format : forall a b, F64 (mul_down choice a b).
Proof.
intros a b; unfold mul_down.
destruct Req_EM_T; [apply generic_format_0|].
destruct Req_EM_T; [apply generic_format_0|].
repeat destruct Rle_dec; repeat destruct Req_EM_T;
  try apply generic_format_pred; auto with typeclass_instances;
  apply generic_format_round; auto with typeclass_instances.
Qed.

Lemma mul_up_format : forall a b, F64 (mul_up choice a b).
Proof.
intros a b; unfold mul_up.
replace (0 - mul_down choice (- a) b) with (- mul_down choice (- a) b) by ring.
apply generic_format_opp, mul_down_format.
Qed.

(** A product of two intervals is bounded by one of its corners on each side. *)
Lemma corner_below :
  forall al a ah xl x xh, al <= a <= ah -> xl <= x <= xh ->
  al * xl <= a * x \/ al * xh <= a * x \/ ah * xl <= a * x \/ ah * xh <= a * x.
Proof.
intros al a ah xl x xh Ha Hx.
destruct (Rle_or_lt 0 x) as [Hx0|Hx0].
- assert (0 <= (a - al) * x) by (apply Rmult_le_pos; lra).
  destruct (Rle_or_lt 0 al) as [Hl|Hl]; [left|right; left].
  + assert (0 <= al * (x - xl)) by (apply Rmult_le_pos; lra). nra.
  + assert (0 <= (- al) * (xh - x)) by (apply Rmult_le_pos; lra). nra.
- assert (0 <= (ah - a) * (- x)) by (apply Rmult_le_pos; lra).
  destruct (Rle_or_lt 0 ah) as [Hh|Hh]; [right; right; left|right; right; right].
  + assert (0 <= ah * (x - xl)) by (apply Rmult_le_pos; lra). nra.
  + assert (0 <= (- ah) * (xh - x)) by (apply Rmult_le_pos; lra). nra.
Qed.

Lemma corner_above :
  forall al a ah xl x xh, al <= a <= ah -> xl <= x <= xh ->
  a * x <= al * xl \/ a * x <= al * xh \/ a * x <= ah * xl \/ a * x <= ah * xh.
Proof.
intros al a ah xl x xh Ha Hx.
destruct (corner_below (- ah) (- a) (- al) xl x xh ltac:(lra) Hx) as [H|[H|[H|H]]].
- right; right; left; nra.
- right; right; right; nra.
- left; nra.
- right; left; nra.
Qed.

Lemma min4_le : forall p1 p2 p3 p4 y,
  p1 <= y \/ p2 <= y \/ p3 <= y \/ p4 <= y -> Rmin (Rmin (Rmin p1 p2) p3) p4 <= y.
Proof.
intros p1 p2 p3 p4 y H.
generalize (Rmin_l (Rmin (Rmin p1 p2) p3) p4) (Rmin_r (Rmin (Rmin p1 p2) p3) p4)
  (Rmin_l (Rmin p1 p2) p3) (Rmin_r (Rmin p1 p2) p3) (Rmin_l p1 p2) (Rmin_r p1 p2).
intros; destruct H as [H|[H|[H|H]]]; lra.
Qed.

Lemma max4_ge : forall p1 p2 p3 p4 y,
  y <= p1 \/ y <= p2 \/ y <= p3 \/ y <= p4 -> y <= Rmax (Rmax (Rmax p1 p2) p3) p4.
Proof.
intros p1 p2 p3 p4 y H.
generalize (Rmax_l (Rmax (Rmax p1 p2) p3) p4) (Rmax_r (Rmax (Rmax p1 p2) p3) p4)
  (Rmax_l (Rmax p1 p2) p3) (Rmax_r (Rmax p1 p2) p3) (Rmax_l p1 p2) (Rmax_r p1 p2).
intros; destruct H as [H|[H|[H|H]]]; lra.
Qed.

(** interval.rs mul_bounds: the bounds contain a*x and are binary64. *)
Theorem mul_bounds_encloses :
  forall al a ah xl x xh, F64 al -> F64 ah -> F64 xl -> F64 xh ->
  al <= a <= ah -> xl <= x <= xh ->
  fst (mul_bounds al ah xl xh) <= a * x <= snd (mul_bounds al ah xl xh) /\
  F64 (fst (mul_bounds al ah xl xh)) /\ F64 (snd (mul_bounds al ah xl xh)).
Proof.
intros al a ah xl x xh Fal Fah Fxl Fxh Ha Hx.
assert (D := fun u v Fu Fv => mul_down_le choice u v Fu Fv).
assert (U := fun u v Fu Fv => mul_up_ge choice u v Fu Fv).
specialize (D al xl Fal Fxl) as D1. specialize (D al xh Fal Fxh) as D2.
specialize (D ah xl Fah Fxl) as D3. specialize (D ah xh Fah Fxh) as D4.
specialize (U al xl Fal Fxl) as U1. specialize (U al xh Fal Fxh) as U2.
specialize (U ah xl Fah Fxl) as U3. specialize (U ah xh Fah Fxh) as U4.
unfold mul_bounds; simpl.
split; [split|split].
- apply min4_le.
  destruct (corner_below al a ah xl x xh Ha Hx) as [H|[H|[H|H]]];
    [left|right; left|right; right; left|right; right; right]; lra.
- apply max4_ge.
  destruct (corner_above al a ah xl x xh Ha Hx) as [H|[H|[H|H]]];
    [left|right; left|right; right; left|right; right; right]; lra.
- repeat apply Rmin_case; apply mul_down_format.
- repeat apply Rmax_case; apply mul_up_format.
Qed.

(** A term of dot_bounds: the coefficient's interval, its value, the input's interval,
    its value. *)
Record term := { a_lo : R; a_v : R; a_hi : R; x_lo : R; x_v : R; x_hi : R }.

Definition term_ok (t : term) :=
  F64 (a_lo t) /\ F64 (a_hi t) /\ F64 (x_lo t) /\ F64 (x_hi t) /\
  a_lo t <= a_v t <= a_hi t /\ x_lo t <= x_v t <= x_hi t.

Fixpoint dot_lo (lo : R) (ts : list term) : R :=
  match ts with
  | [] => lo
  | t :: ts => dot_lo (add_down choice lo (fst (mul_bounds (a_lo t) (a_hi t) (x_lo t) (x_hi t)))) ts
  end.

Fixpoint dot_hi (hi : R) (ts : list term) : R :=
  match ts with
  | [] => hi
  | t :: ts => dot_hi (add_up choice hi (snd (mul_bounds (a_lo t) (a_hi t) (x_lo t) (x_hi t)))) ts
  end.

Fixpoint exact_sum (c : R) (ts : list term) : R :=
  match ts with
  | [] => c
  | t :: ts => exact_sum (c + a_v t * x_v t) ts
  end.

Lemma exact_sum_shift : forall ts c d, exact_sum (c + d) ts = exact_sum c ts + d.
Proof.
induction ts as [|t ts IH]; intros c d; simpl; [ring|].
replace (c + d + a_v t * x_v t) with ((c + a_v t * x_v t) + d) by ring.
apply IH.
Qed.

Lemma exact_sum_mono : forall ts c d, c <= d -> exact_sum c ts <= exact_sum d ts.
Proof.
intros ts c d H.
replace d with (c + (d - c)) by ring. rewrite exact_sum_shift. lra.
Qed.

Lemma add_up_format' : forall x y, F64 (add_up choice x y).
Proof.
intros x y; unfold add_up.
replace (0 - add_down choice (- x) (- y)) with (- add_down choice (- x) (- y)) by ring.
apply generic_format_opp, add_down_format.
Qed.

(** interval.rs dot_bounds: for binary64 c_lo <= c <= c_hi and every term in its box,
    lo <= c + sum a_j*x_j <= hi. *)
Theorem dot_bounds_encloses :
  forall ts c_lo c c_hi, Forall term_ok ts -> F64 c_lo -> F64 c_hi -> c_lo <= c <= c_hi ->
  dot_lo c_lo ts <= exact_sum c ts <= dot_hi c_hi ts.
Proof.
induction ts as [|t ts IH]; intros c_lo c c_hi Hts Fl Fh Hc; simpl; [lra|].
inversion Hts as [|t' ts' Ht Hts']; subst.
destruct Ht as [Fal [Fah [Fxl [Fxh [Ha Hx]]]]].
destruct (mul_bounds_encloses _ _ _ _ _ _ Fal Fah Fxl Fxh Ha Hx) as [[Hpl Hph] [Fpl Fph]].
set (pl := fst _) in *. set (ph := snd _) in *.
assert (Hl := add_down_le choice choice_sym c_lo pl Fl Fpl).
assert (Hh := add_up_ge choice choice_sym c_hi ph Fh Fph).
change (dot_lo (add_down choice c_lo pl) ts <= exact_sum (c + a_v t * x_v t) ts <=
        dot_hi (add_up choice c_hi ph) ts).
apply IH; auto.
- apply add_down_format.
- apply add_up_format'.
- lra.
Qed.

(** any.rs div(a, b) for b > 0: the least of the four corner quotients rounded by
    div_down, and the greatest by div_up, enclose a/b for every a in [al, ah] and b in
    [bl, bh], 0 < bl. *)
Definition div_bounds (al ah bl bh : R) : R * R :=
  (Rmin (Rmin (Rmin (div_down choice al bl) (div_down choice al bh))
              (div_down choice ah bl)) (div_down choice ah bh),
   Rmax (Rmax (Rmax (div_up choice al bl) (div_up choice al bh))
              (div_up choice ah bl)) (div_up choice ah bh)).

Lemma quot_corner_below :
  forall al a ah bl b bh, al <= a <= ah -> 0 < bl -> bl <= b <= bh ->
  al / bl <= a / b \/ al / bh <= a / b \/ ah / bl <= a / b \/ ah / bh <= a / b.
Proof.
intros al a ah bl b bh Ha Hb0 Hb.
assert (Hab : al / b <= a / b).
{ unfold Rdiv. apply Rmult_le_compat_r; [left; apply Rinv_0_lt_compat; lra|lra]. }
destruct (Rle_or_lt 0 al) as [Hal|Hal].
- right; left. apply Rle_trans with (2 := Hab).
  unfold Rdiv. apply Rmult_le_compat_l; [exact Hal|]. apply Rinv_le_contravar; lra.
- left. apply Rle_trans with (2 := Hab).
  unfold Rdiv. apply Rmult_le_compat_neg_l; [lra|]. apply Rinv_le_contravar; lra.
Qed.

Lemma quot_corner_above :
  forall al a ah bl b bh, al <= a <= ah -> 0 < bl -> bl <= b <= bh ->
  a / b <= al / bl \/ a / b <= al / bh \/ a / b <= ah / bl \/ a / b <= ah / bh.
Proof.
intros al a ah bl b bh Ha Hb0 Hb.
destruct (quot_corner_below (- ah) (- a) (- al) bl b bh ltac:(lra) Hb0 Hb) as [H|[H|[H|H]]];
  unfold Rdiv in *; rewrite !Ropp_mult_distr_l_reverse in H;
  [right; right; left|right; right; right|left|right; left]; lra.
Qed.

Theorem div_bounds_encloses :
  forall al a ah bl b bh, F64 al -> F64 ah -> F64 bl -> F64 bh ->
  al <= a <= ah -> 0 < bl -> bl <= b <= bh ->
  fst (div_bounds al ah bl bh) <= a / b <= snd (div_bounds al ah bl bh).
Proof.
intros al a ah bl b bh Fal Fah Fbl Fbh Ha Hb0 Hb.
assert (Bl : bl <> 0) by lra. assert (Bh : bh <> 0) by lra.
assert (D1 := div_down_le choice al bl Fal Fbl Bl). assert (D2 := div_down_le choice al bh Fal Fbh Bh).
assert (D3 := div_down_le choice ah bl Fah Fbl Bl). assert (D4 := div_down_le choice ah bh Fah Fbh Bh).
assert (U1 := div_up_ge choice al bl Fal Fbl Bl). assert (U2 := div_up_ge choice al bh Fal Fbh Bh).
assert (U3 := div_up_ge choice ah bl Fah Fbl Bl). assert (U4 := div_up_ge choice ah bh Fah Fbh Bh).
unfold div_bounds; simpl. split.
- apply min4_le.
  destruct (quot_corner_below al a ah bl b bh Ha Hb0 Hb) as [H|[H|[H|H]]];
    [left|right; left|right; right; left|right; right; right]; lra.
- apply max4_ge.
  destruct (quot_corner_above al a ah bl b bh Ha Hb0 Hb) as [H|[H|[H|H]]];
    [left|right; left|right; right; left|right; right; right]; lra.
Qed.

End Interval.

Print Assumptions mul_bounds_encloses.
Print Assumptions dot_bounds_encloses.
Print Assumptions div_bounds_encloses.
