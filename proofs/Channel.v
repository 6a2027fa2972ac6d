(** * The enclosure of one channel

    round/mod.rs div_down/div_up and sqrt_dir (sqrt_down/sqrt_up), with subnormal results
    included, then the float enclosure of enclosure.rs [Portable::scale_offset] and the
    scalar image of channel.rs [image] (sign cases, zero scale, infinite box endpoints).

    div_down(a, b): r = RN(a/b); for a = 0 the residual is 0 (r = 0 is exact); else the
    FMA residual rem = RN(a - r*b) is trusted when rem <> 0 (rounding to nearest never
    flips a sign) or |a| >= 2^-968; its sign times the sign of b is the sign of a/b - r;
    r is kept when that is >= 0, else next_down(r) = pred(r). Flocq 4.1 states the
    exactness of the division remainder for FLX only, so the zero case is proved here on
    the grid: a and r*b are integer multiples of 2^-1074 when |a| >= 2^-968 (the exponents
    of r and b add up to at least -1073), and a nonzero multiple of 2^-1074 does not round
    to 0. The same for sqrt (q - r*r, q >= 2^-968: r >= 2^-484). The code's None paths
    (r or the residual not finite, b infinite) step outward unconditionally, which the
    [pred]/[succ] branch covers; infinities themselves are outside Flocq's model. *)

From Coq Require Import Reals Lia Lra.
From Flocq Require Import Core Pff.Pff2Flocq.
From BnboundProofs Require Import Add Mul.
Open Scope R_scope.

Notation fexp64 := (FLT_exp (-1074) 53).
Notation F64 := (generic_format radix2 fexp64).

Section Channel.

Variable choice : Z -> bool.
Hypothesis choice_sym : forall z, choice z = negb (choice (- (z + 1))).
Notation RN64 := (round radix2 fexp64 (Znearest choice)).
Notation pred := (pred radix2 fexp64).
Notation succ := (succ radix2 fexp64).

(** ** The grid argument *)

Lemma F64_cexp_multiple :
  forall x, F64 x -> x = IZR (Ztrunc (scaled_mantissa radix2 fexp64 x)) *
                         bpow radix2 (cexp radix2 fexp64 x).
Proof. intros x Fx. exact Fx. Qed.

Lemma cexp_ge_emin : forall x, (-1074 <= cexp radix2 fexp64 x)%Z.
Proof. intros x; unfold cexp, FLT_exp; lia. Qed.

Lemma cexp_ge_mag : forall x, (mag radix2 x - 53 <= cexp radix2 fexp64 x)%Z.
Proof. intros x; unfold cexp, FLT_exp; lia. Qed.

(** a - r*b is an integer multiple of 2^-1074 when the exponents of r and b are large. *)
Lemma grid_rem :
  forall a r b, F64 a -> F64 r -> F64 b ->
  (-1074 <= cexp radix2 fexp64 r + cexp radix2 fexp64 b)%Z ->
  exists n : Z, a - r * b = IZR n * bpow radix2 (-1074).
Proof.
intros a r b Fa Fr Fb He.
destruct (F64_multiple a Fa) as [na Ha].
set (er := cexp radix2 fexp64 r) in *.
set (eb := cexp radix2 fexp64 b) in *.
set (mr := Ztrunc (scaled_mantissa radix2 fexp64 r)).
set (mb := Ztrunc (scaled_mantissa radix2 fexp64 b)).
assert (Hr : r = IZR mr * bpow radix2 er) by exact Fr.
assert (Hb : b = IZR mb * bpow radix2 eb) by exact Fb.
exists (na - mr * mb * Z.pow 2 (er + eb + 1074))%Z.
rewrite Ha, Hr, Hb.
rewrite minus_IZR, !mult_IZR.
rewrite (IZR_Zpower radix2) by lia.
assert (E : bpow radix2 er * bpow radix2 eb =
             bpow radix2 (er + eb + 1074) * bpow radix2 (-1074)).
{ rewrite <- !bpow_plus. f_equal. lia. }
replace (IZR mr * bpow radix2 er * (IZR mb * bpow radix2 eb)) with
  (IZR mr * IZR mb * (bpow radix2 er * bpow radix2 eb)) by ring.
rewrite E.
ring.
Qed.

(** A multiple of 2^-1074 that rounds to 0 is 0. *)
Lemma grid_round_zero :
  forall n : Z, RN64 (IZR n * bpow radix2 (-1074)) = 0 -> IZR n * bpow radix2 (-1074) = 0.
Proof.
intros n H.
destruct (Z.eq_dec n 0) as [Hn|Hn]; [subst; simpl; ring|].
exfalso.
assert (Hf : F64 (bpow radix2 (-1074)))
  by (apply generic_format_FLT_bpow; auto with typeclass_instances; lia).
assert (Hge : bpow radix2 (-1074) <= Rabs (IZR n * bpow radix2 (-1074))).
{ rewrite Rabs_mult, (Rabs_pos_eq (bpow _ _)) by apply bpow_ge_0.
  assert (1 <= Rabs (IZR n)).
  { rewrite <- abs_IZR. apply IZR_le. lia. }
  assert (0 < bpow radix2 (-1074)) by apply bpow_gt_0.
  nra. }
assert (Hr := abs_round_ge_generic radix2 fexp64 (Znearest choice) _ _ Hf Hge).
rewrite H, Rabs_R0 in Hr.
assert (0 < bpow radix2 (-1074)) by apply bpow_gt_0.
lra.
Qed.

(** A residual computed as RN(w) has the sign of w when it is nonzero. *)
Lemma rn_pos : forall w, 0 < RN64 w -> 0 < w.
Proof.
intros w H.
destruct (Rle_or_lt w 0) as [Hw|Hw]; [|exact Hw].
assert (RN64 w <= 0).
{ rewrite <- (round_0 radix2 fexp64 (Znearest choice)).
  apply round_le; auto with typeclass_instances. }
lra.
Qed.

Lemma rn_neg : forall w, RN64 w < 0 -> w < 0.
Proof.
intros w H.
destruct (Rle_or_lt 0 w) as [Hw|Hw]; [|exact Hw].
assert (0 <= RN64 w).
{ rewrite <- (round_0 radix2 fexp64 (Znearest choice)).
  apply round_le; auto with typeclass_instances. }
lra.
Qed.

(** ** Division *)



Definition div_down (a b : R) : R :=
  let r := RN64 (a / b) in
  if Req_EM_T a 0 then r else
  let rem := RN64 (- r * b + a) in
  let e := if Rlt_dec 0 b then rem else - rem in
  if Rle_dec 0 e then
    (if Req_EM_T rem 0 then
       (if Rle_dec residual_safe (Rabs a) then r else pred r)
     else r)
  else pred r.

Definition div_up (a b : R) : R := 0 - div_down (- a) b.

(** The exponents of r = RN(a/b) and b add up to at least -1074 when |a| >= 2^-968. *)
Lemma div_cexp :
  forall a b, F64 a -> F64 b -> b <> 0 -> residual_safe <= Rabs a ->
  (-1074 <= cexp radix2 fexp64 (RN64 (a / b)) + cexp radix2 fexp64 b)%Z.
Proof.
intros a b Fa Fb Hb Ha.
unfold residual_safe in Ha.
assert (Ha0 : a <> 0).
{ intros H; subst. rewrite Rabs_R0 in Ha. generalize (bpow_gt_0 radix2 (-968)); lra. }
assert (Hma : (-967 <= mag radix2 a)%Z).
{ apply mag_ge_bpow. simpl (-967 - 1)%Z. exact Ha. }
generalize (cexp_ge_emin (RN64 (a / b))) (cexp_ge_mag (RN64 (a / b)))
  (cexp_ge_emin b) (cexp_ge_mag b); intros H1 H2 H3 H4.
destruct (Z_le_gt_dec 53 (mag radix2 b)) as [Hbig|Hsmall]; [lia|].
(* |a/b| > 2^(mag a - 1 - mag b), a float: so mag r >= mag a - mag b *)
set (k := (mag radix2 a - 1 - mag radix2 b)%Z).
assert (Fk : F64 (bpow radix2 k))
  by (apply generic_format_FLT_bpow; auto with typeclass_instances; unfold k; lia).
assert (Hk : bpow radix2 k <= Rabs (a / b)).
{ unfold k. unfold Rdiv. rewrite Rabs_mult, Rabs_inv.
  assert (Hea := bpow_mag_le radix2 a Ha0).
  assert (Heb := bpow_mag_gt radix2 b).
  set (ea := mag radix2 a) in *. set (eb := mag radix2 b) in *.
  assert (0 < Rabs b) by (apply Rabs_pos_lt; exact Hb).
  replace (ea - 1 - eb)%Z with ((ea - 1) + - eb)%Z by lia.
  rewrite bpow_plus, bpow_opp.
  apply Rmult_le_compat.
  - apply bpow_ge_0.
  - left. apply Rinv_0_lt_compat. apply bpow_gt_0.
  - exact Hea.
  - left. apply Rinv_lt_contravar; [|exact Heb].
    apply Rmult_lt_0_compat; [exact H|apply bpow_gt_0]. }
assert (Hr := abs_round_ge_generic radix2 fexp64 (Znearest choice) _ _ Fk Hk).
assert (Hmr : (k + 1 <= mag radix2 (RN64 (a / b)))%Z).
{ apply mag_ge_bpow. replace (k + 1 - 1)%Z with k by lia. exact Hr. }
unfold k in Hmr. lia.
Qed.

(** round/mod.rs div_down: <= a/b, for binary64 a and b <> 0 (subnormal results
    included). *)
Theorem div_down_le : forall a b, F64 a -> F64 b -> b <> 0 -> div_down a b <= a / b.
Proof.
intros a b Fa Fb Hb; unfold div_down.
set (r := RN64 (a / b)).
assert (Hpred : pred r <= a / b)
  by (apply (pred_round_le_id radix2 fexp64); auto with typeclass_instances).
destruct (Req_EM_T a 0) as [Ha|Ha].
{ unfold r. subst a. unfold Rdiv. rewrite Rmult_0_l, round_0; auto with typeclass_instances.
  lra. }
set (rem := RN64 (- r * b + a)).
(* a/b - r = (a - r*b)/b *)
assert (Hq : a / b - r = (- r * b + a) / b) by (field; exact Hb).
(* the sign of the exact residual w = a - r*b, as far as it is known *)
assert (Key : forall w, w = - r * b + a ->
          (0 < b -> 0 <= w -> r <= a / b) /\ (b < 0 -> w <= 0 -> r <= a / b)).
{ intros w Hw; split; intros Hs Hw0.
  - assert (0 <= (- r * b + a) / b).
    { unfold Rdiv. apply Rmult_le_pos; [lra|]. left. apply Rinv_0_lt_compat. lra. }
    lra.
  - assert (0 <= (- r * b + a) / b).
    { unfold Rdiv. replace ((- r * b + a) * / b) with ((- (- r * b + a)) * / (- b))
        by (field; exact Hb).
      apply Rmult_le_pos; [lra|]. left. apply Rinv_0_lt_compat. lra. }
    lra. }
destruct (Key (- r * b + a) eq_refl) as [Kp Kn].
(* a zero residual is exact when |a| >= 2^-968 *)
assert (Zero : rem = 0 -> residual_safe <= Rabs a -> - r * b + a = 0).
{ intros Hz Hs.
  assert (Fr : F64 r) by (apply generic_format_round; auto with typeclass_instances).
  destruct (grid_rem a r b Fa Fr Fb (div_cexp a b Fa Fb Hb Hs)) as [n Hn].
  replace (- r * b + a) with (a - r * b) in * by ring.
  rewrite Hn in *. apply grid_round_zero. unfold rem in Hz.
  replace (- r * b + a) with (a - r * b) in Hz by ring. rewrite Hn in Hz. exact Hz. }
destruct (Rlt_dec 0 b) as [Hbp|Hbn].
- destruct (Rle_dec 0 rem) as [He|He]; [|exact Hpred].
  destruct (Req_EM_T rem 0) as [Hz|Hz].
  + destruct (Rle_dec residual_safe (Rabs a)) as [Hs|Hs]; [|exact Hpred].
    apply Kp; [exact Hbp|]. rewrite (Zero Hz Hs). lra.
  + apply Kp; [exact Hbp|]. left. apply rn_pos. fold rem. lra.
- assert (Hbneg : b < 0) by lra.
  destruct (Rle_dec 0 (- rem)) as [He|He]; [|exact Hpred].
  destruct (Req_EM_T rem 0) as [Hz|Hz].
  + destruct (Rle_dec residual_safe (Rabs a)) as [Hs|Hs]; [|exact Hpred].
    apply Kn; [exact Hbneg|]. rewrite (Zero Hz Hs). lra.
  + apply Kn; [exact Hbneg|]. left. apply rn_neg. fold rem. lra.
Qed.

(** round/mod.rs div_up = 0 - div_down(-a, b): >= a/b. *)
Theorem div_up_ge : forall a b, F64 a -> F64 b -> b <> 0 -> a / b <= div_up a b.
Proof.
intros a b Fa Fb Hb; unfold div_up.
assert (H := div_down_le (- a) b (generic_format_opp _ _ _ Fa) Fb Hb).
unfold Rdiv in *. lra.
Qed.

(** ** Square root *)

(** sqrt_dir(q, dir): r = RN(sqrt q); residual 0 for q = 0, else rem = RN(q - r*r),
    trusted when rem <> 0 or q >= 2^-968; Down keeps r when the residual is >= 0, Up when
    it is <= 0, else one step outward; then max(., 0). *)
Definition sqrt_trusted (q : R) : option R :=
  let r := RN64 (sqrt q) in
  if Req_EM_T q 0 then Some 0 else
  let rem := RN64 (- r * r + q) in
  if Req_EM_T rem 0 then
    (if Rle_dec residual_safe q then Some rem else None)
  else Some rem.

Definition sqrt_down (q : R) : R :=
  let r := RN64 (sqrt q) in
  Rmax (match sqrt_trusted q with Some e => if Rle_dec 0 e then r else pred r
                                  | None => pred r end) 0.

Definition sqrt_up (q : R) : R :=
  let r := RN64 (sqrt q) in
  Rmax (match sqrt_trusted q with Some e => if Rle_dec e 0 then r else succ r
                                  | None => succ r end) 0.

(** The exact residual q - r*r has the sign of sqrt q - r (r >= 0), and is exact when
    q >= 2^-968. *)
Lemma sqrt_rem_sign :
  forall q, F64 q -> 0 <= q ->
  let r := RN64 (sqrt q) in
  (forall e, sqrt_trusted q = Some e -> (0 <= e -> r <= sqrt q) /\ (e <= 0 -> sqrt q <= r)).
Proof.
intros q Fq Hq r e Ht.
assert (Hr0 : 0 <= r).
{ unfold r. rewrite <- (round_0 radix2 fexp64 (Znearest choice)).
  apply round_le; auto with typeclass_instances. apply sqrt_pos. }
assert (Hsq : sqrt q * sqrt q = q) by (apply sqrt_sqrt; exact Hq).
assert (Hs0 : 0 <= sqrt q) by apply sqrt_pos.
(* sign transfer: q - r^2 = (sqrt q - r)(sqrt q + r) *)
assert (Tp : 0 <= - r * r + q -> r <= sqrt q).
{ intros H. destruct (Rle_or_lt r (sqrt q)) as [|Hlt]; [assumption|]. nra. }
assert (Tn : - r * r + q <= 0 -> sqrt q <= r).
{ intros H. destruct (Rle_or_lt (sqrt q) r) as [|Hlt]; [assumption|]. nra. }
unfold sqrt_trusted in Ht. fold r in Ht.
destruct (Req_EM_T q 0) as [Hq0|Hq0].
{ subst q. unfold r. rewrite sqrt_0. rewrite round_0 by auto with typeclass_instances.
  split; intros; lra. }
assert (Hqp : 0 < q) by lra.
set (rem := RN64 (- r * r + q)) in Ht.
destruct (Req_EM_T rem 0) as [Hz|Hz].
- destruct (Rle_dec residual_safe q) as [Hs|Hs]; [|discriminate].
  injection Ht; intros <-.
  (* exact: q - r*r is a multiple of 2^-1074, r >= 2^-484 *)
  assert (Fr : F64 r) by (apply generic_format_round; auto with typeclass_instances).
  assert (Hc : (-1074 <= cexp radix2 fexp64 r + cexp radix2 fexp64 r)%Z).
  { assert (F484 : F64 (bpow radix2 (-484)))
      by (apply generic_format_FLT_bpow; auto with typeclass_instances; lia).
    assert (H484 : bpow radix2 (-484) <= Rabs (sqrt q)).
    { rewrite Rabs_pos_eq by exact Hs0.
      replace (bpow radix2 (-484)) with (sqrt (bpow radix2 (-968))).
      - apply sqrt_le_1_alt. exact Hs.
      - replace (-968)%Z with (-484 + -484)%Z by lia. rewrite bpow_plus.
        apply sqrt_square. apply bpow_ge_0. }
    assert (Hr := abs_round_ge_generic radix2 fexp64 (Znearest choice) _ _ F484 H484).
    fold r in Hr.
    assert (Hm : (-483 <= mag radix2 r)%Z).
    { apply mag_ge_bpow. simpl (-483 - 1)%Z. exact Hr. }
    generalize (cexp_ge_mag r); lia. }
  destruct (grid_rem q r r Fq Fr Fr Hc) as [n Hn].
  assert (Hex : - r * r + q = 0).
  { replace (- r * r + q) with (q - r * r) by ring. rewrite Hn. apply grid_round_zero.
    rewrite <- Hn. replace (q - r * r) with (- r * r + q) by ring. exact Hz. }
  split; intros _; [apply Tp | apply Tn]; lra.
- injection Ht; intros <-.
  split; intros He.
  + apply Tp. left. apply rn_pos. fold rem. lra.
  + apply Tn. left. apply rn_neg. fold rem. lra.
Qed.

(** round/mod.rs sqrt_down: 0 <= sqrt_down q <= sqrt q, for binary64 q >= 0. *)
Theorem sqrt_down_le : forall q, F64 q -> 0 <= q -> 0 <= sqrt_down q <= sqrt q.
Proof.
intros q Fq Hq; unfold sqrt_down.
set (r := RN64 (sqrt q)).
assert (Hpred : pred r <= sqrt q)
  by (apply (pred_round_le_id radix2 fexp64); auto with typeclass_instances).
assert (Hs0 : 0 <= sqrt q) by apply sqrt_pos.
assert (H : (match sqrt_trusted q with Some e => if Rle_dec 0 e then r else pred r
                                     | None => pred r end) <= sqrt q).
{ destruct (sqrt_trusted q) as [e|] eqn:Ht; [|exact Hpred].
  destruct (Rle_dec 0 e) as [He|He]; [|exact Hpred].
  exact (proj1 (sqrt_rem_sign q Fq Hq e Ht) He). }
split; [apply Rmax_r|]. apply Rmax_lub; lra.
Qed.

(** round/mod.rs sqrt_up: sqrt q <= sqrt_up q, for binary64 q >= 0. *)
Theorem sqrt_up_ge : forall q, F64 q -> 0 <= q -> sqrt q <= sqrt_up q.
Proof.
intros q Fq Hq; unfold sqrt_up.
set (r := RN64 (sqrt q)).
assert (Hsucc : sqrt q <= succ r)
  by (apply (succ_round_ge_id radix2 fexp64); auto with typeclass_instances).
eapply Rle_trans; [|apply Rmax_l].
destruct (sqrt_trusted q) as [e|] eqn:Ht; [|exact Hsucc].
destruct (Rle_dec e 0) as [He|He]; [|exact Hsucc].
exact (proj2 (sqrt_rem_sign q Fq Hq e Ht) He).
Qed.

(** ** The float enclosure of one channel: enclosure.rs Portable::scale_offset *)

Definition clamp_lo (g lo : R) := if Rlt_dec 0 g then Rmax lo 0 else lo.
Definition clamp_hi (g hi : R) := if Rlt_dec g 0 then Rmin hi 0 else hi.

(** Before [exact::tighten]: q = [add_down(v, e), add_up(v, e)], r = [sqrt_down(q_lo),
    sqrt_up(q_hi)], s by div_down/div_up with the end of r chosen by the sign of g, then
    clamp_to_sign, o = [fma_down(-m, s_for_lo, b), fma_up(-m, s_for_hi, b)] with the end
    of s chosen by the sign of m. *)
Definition scale_offset (g bb m v e : R) : (R * R) * (R * R) :=
  let q_lo := add_down choice v e in
  let q_hi := add_up choice v e in
  let r_lo := sqrt_down q_lo in
  let r_hi := sqrt_up q_hi in
  let s0 := if Rlt_dec 0 g then (div_down g r_hi, div_up g r_lo)
            else if Rlt_dec g 0 then (div_down g r_lo, div_up g r_hi)
            else (0, 0) in
  let s_lo := if Rlt_dec 0 g then Rmax (fst s0) 0
              else if Rlt_dec g 0 then fst s0 else 0 in
  let s_hi := if Rlt_dec 0 g then snd s0
              else if Rlt_dec g 0 then Rmin (snd s0) 0 else 0 in
  let sf := if Rle_dec 0 m then (s_hi, s_lo) else (s_lo, s_hi) in
  let o_lo := fma_down_portable choice (- m) (fst sf) bb in
  let o_hi := 0 - fma_down_portable choice m (snd sf) (- bb) in
  ((s_lo, s_hi), (o_lo, o_hi)).

Lemma add_down_nonneg :
  forall a b, F64 a -> F64 b -> 0 <= a -> 0 <= b -> 0 <= add_down choice a b.
Proof.
intros a b Fa Fb Ha Hb. unfold add_down.
assert (Hts := TwoSum_correct (-1074) 53 choice (eq_refl) (ltac:(easy)) choice_sym a b Fa Fb).
simpl in Hts.
set (s := RN64 (a + b)) in *.
assert (Hs0 : 0 <= s).
{ unfold s. rewrite <- (round_0 radix2 fexp64 (Znearest choice)).
  apply round_le; auto with typeclass_instances. lra. }
destruct Rle_dec as [He|He]; [exact Hs0|].
apply pred_ge_gt; auto with typeclass_instances.
- apply generic_format_0.
- unfold s; apply generic_format_round; auto with typeclass_instances.
- lra.
Qed.

(** For binary64 v, e >= 0 with v + e > 0: add_down(v, e) >= 2^-1074, and the lower
    bound of its square root is >= 2^-538 > 0. *)
Lemma add_down_pos :
  forall a b, F64 a -> F64 b -> 0 <= a -> 0 <= b -> 0 < a + b ->
  bpow radix2 (-1074) <= add_down choice a b.
Proof.
intros a b Fa Fb Ha Hb Hab. unfold add_down.
assert (Hts := TwoSum_correct (-1074) 53 choice (eq_refl) (ltac:(easy)) choice_sym a b Fa Fb).
simpl in Hts.
assert (F1 : F64 (bpow radix2 (-1074)))
  by (apply generic_format_FLT_bpow; auto with typeclass_instances; lia).
assert (Hmin : bpow radix2 (-1074) <= a + b).
{ destruct (F64_multiple a Fa) as [na Hna]. destruct (F64_multiple b Fb) as [nb Hnb].
  assert (Hs : a + b = IZR (na + nb) * bpow radix2 (-1074)) by (rewrite plus_IZR; lra).
  assert (0 < bpow radix2 (-1074)) by apply bpow_gt_0.
  rewrite Hs in *.
  assert (0 < IZR (na + nb)).
  { destruct (Rle_or_lt (IZR (na + nb)) 0) as [Hn|Hn]; [|exact Hn]. nra. }
  assert (1 <= IZR (na + nb)) by (apply IZR_le; apply lt_IZR in H0; lia).
  nra. }
set (s := RN64 (a + b)) in *.
assert (Hs1 : bpow radix2 (-1074) <= s)
  by (apply round_ge_generic; auto with typeclass_instances).
destruct Rle_dec as [He|He]; [exact Hs1|].
apply pred_ge_gt; auto with typeclass_instances.
- unfold s; apply generic_format_round; auto with typeclass_instances.
- lra.
Qed.

Lemma sqrt_down_pos :
  forall q, F64 q -> bpow radix2 (-1074) <= q -> 0 < sqrt_down q.
Proof.
intros q Fq Hq. unfold sqrt_down.
assert (F537 : F64 (bpow radix2 (-537)))
  by (apply generic_format_FLT_bpow; auto with typeclass_instances; lia).
assert (F538 : F64 (bpow radix2 (-538)))
  by (apply generic_format_FLT_bpow; auto with typeclass_instances; lia).
assert (H537 : bpow radix2 (-537) <= sqrt q).
{ replace (bpow radix2 (-537)) with (sqrt (bpow radix2 (-1074))).
  - apply sqrt_le_1_alt. exact Hq.
  - replace (-1074)%Z with (-537 + -537)%Z by lia. rewrite bpow_plus.
    apply sqrt_square. apply bpow_ge_0. }
set (r := RN64 (sqrt q)).
assert (Hr : bpow radix2 (-537) <= r)
  by (apply round_ge_generic; auto with typeclass_instances).
assert (Hlt : bpow radix2 (-538) < bpow radix2 (-537)) by (apply bpow_lt; lia).
assert (Hp : bpow radix2 (-538) <= pred r).
{ apply pred_ge_gt; auto with typeclass_instances.
  - unfold r; apply generic_format_round; auto with typeclass_instances.
  - lra. }
assert (0 < bpow radix2 (-538)) by apply bpow_gt_0.
apply Rlt_le_trans with (2 := Rmax_l _ _).
destruct (sqrt_trusted q) as [x|]; [destruct Rle_dec|]; lra.
Qed.

(** The float enclosure contains the exact scale g/sqrt(v + e) and offset
    bb - m*g/sqrt(v + e), for binary64 parameters with v, e >= 0, v + e > 0 (BatchNorm's
    invariants); every bound is finite here (Flocq's model has no overflow: where the
    code's q_hi, s or o overflows, its bound is +-oo or +-MAX on the sound side). *)
Theorem scale_offset_encloses :
  forall g bb m v e, F64 g -> F64 bb -> F64 m -> F64 v -> F64 e ->
  0 <= v -> 0 <= e -> 0 < v + e ->
  let s := g / sqrt (v + e) in
  let '((s_lo, s_hi), (o_lo, o_hi)) := scale_offset g bb m v e in
  s_lo <= s <= s_hi /\ o_lo <= bb - m * s <= o_hi /\
  (0 < g -> 0 <= s_lo) /\ (g < 0 -> s_hi <= 0) /\ (g = 0 -> s_lo = 0 /\ s_hi = 0).
Proof.
intros g bb m v e Fg Fb Fm Fv Fe Hv He Hq s.
assert (Hrl := sqrt_down_pos _ (add_down_format choice v e) (add_down_pos v e Fv Fe Hv He Hq)).
unfold scale_offset.
set (q_lo := add_down choice v e) in *.
set (q_hi := add_up choice v e).
assert (Hql : q_lo <= v + e) by (apply add_down_le; auto).
assert (Hqh : v + e <= q_hi) by (apply add_up_ge; auto).
assert (Hql0 : 0 <= q_lo) by (apply add_down_nonneg; auto).
assert (Fql : F64 q_lo) by (apply add_down_format).
assert (Fqh : F64 q_hi).
{ unfold q_hi, add_up. replace (0 - add_down choice (- v) (- e))
    with (- add_down choice (- v) (- e)) by ring.
  apply generic_format_opp, add_down_format. }
set (r_lo := sqrt_down q_lo) in *.
set (r_hi := sqrt_up q_hi).
assert (Hrl' : r_lo <= sqrt (v + e)).
{ destruct (sqrt_down_le q_lo Fql Hql0) as [_ H].
  apply Rle_trans with (1 := H). apply sqrt_le_1_alt. exact Hql. }
assert (Hrh' : sqrt (v + e) <= r_hi).
{ apply Rle_trans with (2 := sqrt_up_ge q_hi Fqh ltac:(lra)).
  apply sqrt_le_1_alt. exact Hqh. }
assert (Hsq : 0 < sqrt (v + e)) by (apply sqrt_lt_R0; exact Hq).
assert (Frl : F64 r_lo).
{ unfold r_lo, sqrt_down. apply Rmax_case; [|apply generic_format_0].
  destruct sqrt_trusted as [x|]; [destruct Rle_dec|];
  try apply generic_format_pred; auto with typeclass_instances;
  apply generic_format_round; auto with typeclass_instances. }
assert (Frh : F64 r_hi).
{ unfold r_hi, sqrt_up. apply Rmax_case; [|apply generic_format_0].
  destruct sqrt_trusted as [x|]; [destruct Rle_dec|];
  try apply generic_format_succ; auto with typeclass_instances;
  apply generic_format_round; auto with typeclass_instances. }
assert (Hrh0 : r_hi <> 0) by lra.
assert (Hrl0 : r_lo <> 0) by lra.
(* the scale *)
assert (Hs : (if Rlt_dec 0 g then Rmax (fst (if Rlt_dec 0 g then (div_down g r_hi, div_up g r_lo)
            else if Rlt_dec g 0 then (div_down g r_lo, div_up g r_hi) else (0, 0))) 0
            else if Rlt_dec g 0 then fst (if Rlt_dec 0 g then (div_down g r_hi, div_up g r_lo)
            else if Rlt_dec g 0 then (div_down g r_lo, div_up g r_hi) else (0, 0)) else 0) <= s
          <= (if Rlt_dec 0 g then snd (if Rlt_dec 0 g then (div_down g r_hi, div_up g r_lo)
            else if Rlt_dec g 0 then (div_down g r_lo, div_up g r_hi) else (0, 0))
            else if Rlt_dec g 0 then Rmin (snd (if Rlt_dec 0 g then (div_down g r_hi, div_up g r_lo)
            else if Rlt_dec g 0 then (div_down g r_lo, div_up g r_hi) else (0, 0))) 0 else 0)).
{ unfold s.
  destruct (Rlt_dec 0 g) as [Hg|Hg]; simpl.
  - assert (0 < g / sqrt (v + e)) by (apply Rdiv_lt_0_compat; lra).
    split.
    + apply Rmax_lub; [|lra].
      apply Rle_trans with (1 := div_down_le g r_hi Fg Frh Hrh0).
      unfold Rdiv. apply Rmult_le_compat_l; [lra|].
      apply Rinv_le_contravar; lra.
    + apply Rle_trans with (2 := div_up_ge g r_lo Fg Frl Hrl0).
      unfold Rdiv. apply Rmult_le_compat_l; [lra|].
      apply Rinv_le_contravar; lra.
  - destruct (Rlt_dec g 0) as [Hg'|Hg']; simpl.
    + assert (g / sqrt (v + e) < 0).
      { unfold Rdiv. assert (0 < / sqrt (v + e)) by (apply Rinv_0_lt_compat; lra). nra. }
      split.
      * apply Rle_trans with (1 := div_down_le g r_lo Fg Frl Hrl0).
        unfold Rdiv. apply Rmult_le_compat_neg_l; [lra|].
        apply Rinv_le_contravar; lra.
      * apply Rmin_glb; [|lra].
        apply Rle_trans with (2 := div_up_ge g r_hi Fg Frh Hrh0).
        unfold Rdiv. apply Rmult_le_compat_neg_l; [lra|].
        apply Rinv_le_contravar; lra.
    + replace g with 0 by lra. unfold Rdiv. rewrite Rmult_0_l. lra. }
set (s_lo := if Rlt_dec 0 g then _ else _) in Hs |- *.
set (s_hi := if Rlt_dec 0 g then snd _ else _) in Hs |- *.
split; [exact Hs|].
split.
- (* the offset *)
  destruct (Rle_dec 0 m) as [Hm|Hm]; simpl; split.
  + apply Rle_trans with (1 := fma_down_portable_le choice (- m) s_hi bb). nra.
  + assert (H := fma_down_portable_le choice m s_lo (- bb)). nra.
  + apply Rle_trans with (1 := fma_down_portable_le choice (- m) s_lo bb). nra.
  + assert (H := fma_down_portable_le choice m s_hi (- bb)). nra.
- (* the sign invariants *)
  unfold s_lo, s_hi.
  split; [|split]; intros Hg;
    repeat (destruct Rlt_dec; try lra); simpl; try apply Rmax_r; try apply Rmin_r; lra.
Qed.

(** ** The scalar image of one channel: channel.rs image, lower_at, upper_at *)

(** A box endpoint: finite, or an infinity (pos = true for +oo). *)
Inductive ext := Fin (x : R) | Inf (pos : bool).

Definition ext_neg (b : ext) := match b with Fin x => Fin (- x) | Inf p => Inf (negb p) end.

(** A lower bound holds for y: -oo bounds everything from below, +oo nothing. *)
Definition below (b : ext) (y : R) :=
  match b with Fin x => x <= y | Inf p => p = false end.
Definition above (b : ext) (y : R) :=
  match b with Fin x => y <= x | Inf p => p = true end.

Inductive sign := Negative | Zero | Positive.

(** lower_at::<OFFSET>: the end of s by the sign of x, then fma_down (OFFSET) or mul_down. *)
Definition lower_at (offset : bool) (s_lo s_hi o_lo x : R) :=
  let s := if Rle_dec 0 x then s_lo else s_hi in
  if offset then fma_down_portable choice s x o_lo else mul_down choice s x.

Definition upper_at (offset : bool) (s_lo s_hi o_hi x : R) :=
  0 - lower_at offset (- s_hi) (- s_lo) (- o_hi) x.

(** image::<OFFSET> for a channel whose enclosure is finite ([direct] is None); OFFSET =
    false uses o_lo = o_hi = 0, as the code does. *)
Definition image (offset : bool) (sg : sign) (s_lo s_hi o_lo o_hi : R) (l h : ext) :=
  let lo_at := fun x => Fin (lower_at offset s_lo s_hi (if offset then o_lo else 0) x) in
  let hi_at := fun x => Fin (upper_at offset s_lo s_hi (if offset then o_hi else 0) x) in
  match sg with
  | Zero => (Fin (if offset then o_lo else 0), Fin (if offset then o_hi else 0))
  | Positive => (match l with Inf _ => l | Fin x => lo_at x end,
                 match h with Inf _ => h | Fin x => hi_at x end)
  | Negative => (match h with Inf _ => ext_neg h | Fin x => lo_at x end,
                 match l with Inf _ => ext_neg l | Fin x => hi_at x end)
  end.

Lemma lower_at_le :
  forall (offset : bool) (s_lo s s_hi o_lo o x : R), F64 x ->
  s_lo <= s <= s_hi -> F64 s_lo -> F64 s_hi -> (if offset then o_lo <= o else o_lo = 0 /\ o = 0) ->
  lower_at offset s_lo s_hi o_lo x <= s * x + o.
Proof.
intros offset s_lo s s_hi o_lo o x Fx Hs Fl Fh Ho. unfold lower_at.
assert (Hc : (if Rle_dec 0 x then s_lo else s_hi) * x <= s * x).
{ destruct (Rle_dec 0 x); nra. }
destruct offset.
- apply Rle_trans with (1 := fma_down_portable_le choice _ x o_lo). lra.
- destruct Ho as [-> ->].
  assert (F64 (if Rle_dec 0 x then s_lo else s_hi)) by (destruct Rle_dec; assumption).
  apply Rle_trans with (1 := mul_down_le choice _ x H Fx). lra.
Qed.

(** channel.rs image: for every real x in the box [l, h] (endpoints finite binary64 or
    infinite), every s in [s_lo, s_hi] with the channel's sign (s = 0 for Zero, s >= 0
    for Positive, s <= 0 for Negative) and o in [o_lo, o_hi], the bounds contain s*x + o
    (OFFSET = false: s*x). *)
Theorem image_encloses :
  forall (offset : bool) (sg : sign) (s_lo s s_hi o_lo o o_hi : R) (l h : ext) (x : R),
  F64 s_lo -> F64 s_hi -> s_lo <= s <= s_hi -> o_lo <= o <= o_hi ->
  (match sg with Zero => s = 0 | Positive => 0 <= s | Negative => s <= 0 end) ->
  (match l with Fin y => F64 y | _ => True end) ->
  (match h with Fin y => F64 y | _ => True end) ->
  below l x -> above h x ->
  let y := s * x + (if offset then o else 0) in
  below (fst (image offset sg s_lo s_hi o_lo o_hi l h)) y /\
  above (snd (image offset sg s_lo s_hi o_lo o_hi l h)) y.
Proof.
intros offset sg s_lo s s_hi o_lo o o_hi l h x Fl Fh Hs Ho Hsg Fxl Fxh Hl Hh y.
assert (Lo : forall z, F64 z ->
  lower_at offset s_lo s_hi (if offset then o_lo else 0) z <= s * z + (if offset then o else 0)).
{ intros z Fz. apply lower_at_le; auto. destruct offset; lra. }
assert (Hi : forall z, F64 z ->
  s * z + (if offset then o else 0) <= upper_at offset s_lo s_hi (if offset then o_hi else 0) z).
{ intros z Fz. unfold upper_at.
  assert (H := lower_at_le offset (- s_hi) (- s) (- s_lo) (- (if offset then o_hi else 0))
                 (- (if offset then o else 0)) z Fz ltac:(lra)
                 (generic_format_opp _ _ _ Fh) (generic_format_opp _ _ _ Fl)
                 ltac:(destruct offset; lra)).
  lra. }
unfold y, image.
destruct sg.
- (* Negative: s <= 0, the lower bound at h, the upper at l *)
  split.
  + destruct h as [zh|[|]]; simpl in *; try easy.
    apply Rle_trans with (1 := Lo zh Fxh). nra.
  + destruct l as [zl|[|]]; simpl in *; try easy.
    apply Rle_trans with (2 := Hi zl Fxl). nra.
- (* Zero *)
  simpl. subst s. destruct offset; lra.
- (* Positive *)
  split.
  + destruct l as [zl|[|]]; simpl in *; try easy.
    apply Rle_trans with (1 := Lo zl Fxl). nra.
  + destruct h as [zh|[|]]; simpl in *; try easy.
    apply Rle_trans with (2 := Hi zh Fxh). nra.
Qed.

End Channel.

Print Assumptions div_down_le.
Print Assumptions div_up_ge.
Print Assumptions sqrt_down_le.
Print Assumptions sqrt_up_ge.
Print Assumptions scale_offset_encloses.
Print Assumptions image_encloses.
