(** * The named runtimes' recipes are monotone in x

    modes/deployed/recipe.rs replays pytorch-cpu's and onnxruntime-cpu's BatchNorm recipes
    (Consts::outputs) at the two endpoints of a box and takes the hull with the real
    enclosure (Deployed::endpoint_outputs, hull_side). That is sound when, for fixed
    constants, each recipe's output at any x in [l, h] lies between its outputs at l and at
    h: each recipe is a composition of maps monotone in x. This file proves it for every
    recipe, in any binary format with gradual underflow (FLT emin prec: binary32 is
    emin = -149, prec = 24; binary64 -1074, 53) and round to nearest with any tie rule,
    for any real constants (the runtime's computed alpha, beta', inv, s', ...):
    - fast path (both runtimes; ONNX Runtime's NCHWc convolution is the same with s', b'):
      RN(RN(x*alpha) + beta') and the contracted RN(x*alpha + beta');
    - PyTorch's non-contiguous fallback: d = RN(x - mu), t = RN(d*inv),
      RN(RN(t*g) + b) and the contracted RN(t*g + b).
    Flocq's model has no overflow; IEEE overflow to +-oo also preserves order (the code's
    argument). Not covered: the flush-to-zero model (module flush of deployed.rs). *)

From Coq Require Import Reals Lia Lra.
From Flocq Require Import Core.
Open Scope R_scope.

Section Deployed.

Variables emin prec : Z.
Context { prec_gt_0_ : Prec_gt_0 prec }.
Variable choice : Z -> bool.
Notation fexp := (FLT_exp emin prec).
Notation RN := (round radix2 fexp (Znearest choice)).

Definition incr (f : R -> R) := forall x y, x <= y -> f x <= f y.
Definition decr (f : R -> R) := forall x y, x <= y -> f y <= f x.
Definition mono (f : R -> R) := incr f \/ decr f.

Lemma rn_incr : incr RN.
Proof. intros x y H. apply round_le; auto with typeclass_instances. Qed.

Lemma mul_mono : forall a, mono (fun x => x * a).
Proof.
intros a. destruct (Rle_or_lt 0 a) as [Ha|Ha]; [left|right]; intros x y H; nra.
Qed.

Lemma add_incr : forall c, incr (fun x => x + c).
Proof. intros c x y H; lra. Qed.

Lemma fma_mono : forall a c, mono (fun x => x * a + c).
Proof.
intros a c. destruct (Rle_or_lt 0 a) as [Ha|Ha]; [left|right]; intros x y H; nra.
Qed.

Lemma comp_mono : forall f g, mono f -> mono g -> mono (fun x => g (f x)).
Proof.
intros f g [Hf|Hf] [Hg|Hg]; [left|right|right|left]; intros x y H;
  specialize (Hf x y H); firstorder.
Qed.

Lemma incr_mono : forall f, incr f -> mono f.
Proof. intros f H; left; exact H. Qed.

(** The endpoint argument: a monotone map on [l, h] lies between its endpoint values. *)
Lemma mono_between :
  forall f l x h, mono f -> l <= x <= h ->
  Rmin (f l) (f h) <= f x <= Rmax (f l) (f h).
Proof.
intros f l x h [Hf|Hf] [Hl Hh].
- assert (f l <= f x) by (apply Hf; lra). assert (f x <= f h) by (apply Hf; lra).
  split; [apply Rle_trans with (f l); [apply Rmin_l|lra]
         |apply Rle_trans with (f h); [lra|apply Rmax_r]].
- assert (f x <= f l) by (apply Hf; lra). assert (f h <= f x) by (apply Hf; lra).
  split; [apply Rle_trans with (f h); [apply Rmin_r|lra]
         |apply Rle_trans with (f l); [lra|apply Rmax_l]].
Qed.

(** The recipes (constants are any reals). *)
Definition fast_unfused (alpha beta' x : R) := RN (RN (x * alpha) + beta').
Definition fast_fused (alpha beta' x : R) := RN (x * alpha + beta').
Definition fallback_unfused (mu inv g b x : R) := RN (RN (RN (RN (x - mu) * inv) * g) + b).
Definition fallback_fused (mu inv g b x : R) := RN (RN (RN (x - mu) * inv) * g + b).

Lemma rn_mono : forall f, mono f -> mono (fun x => RN (f x)).
Proof. intros f Hf. apply (comp_mono f RN Hf), incr_mono, rn_incr. Qed.

Lemma fast_unfused_mono : forall alpha beta', mono (fast_unfused alpha beta').
Proof.
intros alpha beta'. unfold fast_unfused.
apply rn_mono. apply (comp_mono (fun x => RN (x * alpha)) (fun y => y + beta')).
- apply rn_mono, mul_mono.
- apply incr_mono, add_incr.
Qed.

Lemma fast_fused_mono : forall alpha beta', mono (fast_fused alpha beta').
Proof. intros alpha beta'. unfold fast_fused. apply rn_mono, fma_mono. Qed.

Lemma fallback_t_mono : forall mu inv, mono (fun x => RN (RN (x - mu) * inv)).
Proof.
intros mu inv. apply rn_mono.
apply (comp_mono (fun x => RN (x - mu)) (fun d => d * inv)); [|apply mul_mono].
apply rn_mono, incr_mono. intros x y H; lra.
Qed.

Lemma fallback_unfused_mono : forall mu inv g b, mono (fallback_unfused mu inv g b).
Proof.
intros mu inv g b. unfold fallback_unfused.
apply rn_mono.
apply (comp_mono (fun x => RN (RN (RN (x - mu) * inv) * g)) (fun y => y + b));
  [|apply incr_mono, add_incr].
apply rn_mono.
apply (comp_mono (fun x => RN (RN (x - mu) * inv)) (fun t => t * g));
  [apply fallback_t_mono|apply mul_mono].
Qed.

Lemma fallback_fused_mono : forall mu inv g b, mono (fallback_fused mu inv g b).
Proof.
intros mu inv g b. unfold fallback_fused.
apply rn_mono.
apply (comp_mono (fun x => RN (RN (x - mu) * inv)) (fun t => t * g + b));
  [apply fallback_t_mono|apply fma_mono].
Qed.

(** deployed.rs Consts::outputs / Deployed::endpoint_outputs: for every x in [l, h], each
    recipe's output lies between its outputs at l and at h, so the hull of the endpoint
    outputs (hull_side) contains every output of the box. *)
Theorem recipes_between_endpoints :
  forall l x h, l <= x <= h ->
  (forall alpha beta',
     Rmin (fast_unfused alpha beta' l) (fast_unfused alpha beta' h) <= fast_unfused alpha beta' x
       <= Rmax (fast_unfused alpha beta' l) (fast_unfused alpha beta' h) /\
     Rmin (fast_fused alpha beta' l) (fast_fused alpha beta' h) <= fast_fused alpha beta' x
       <= Rmax (fast_fused alpha beta' l) (fast_fused alpha beta' h)) /\
  (forall mu inv g b,
     Rmin (fallback_unfused mu inv g b l) (fallback_unfused mu inv g b h)
       <= fallback_unfused mu inv g b x
       <= Rmax (fallback_unfused mu inv g b l) (fallback_unfused mu inv g b h) /\
     Rmin (fallback_fused mu inv g b l) (fallback_fused mu inv g b h)
       <= fallback_fused mu inv g b x
       <= Rmax (fallback_fused mu inv g b l) (fallback_fused mu inv g b h)).
Proof.
intros l x h Hx. split.
- intros alpha beta'. split; apply mono_between; auto.
  + apply fast_unfused_mono.
  + apply fast_fused_mono.
- intros mu inv g b. split; apply mono_between; auto.
  + apply fallback_unfused_mono.
  + apply fallback_fused_mono.
Qed.

End Deployed.

Global Instance prec_gt_0_24' : Prec_gt_0 24. Proof. easy. Qed.

(** The binary32 instance (the f32 recipes of pytorch-cpu and onnxruntime-cpu): every
    recipe, for every tie rule. *)
Theorem recipes_between_endpoints_b32 :
  forall choice l x h, l <= x <= h ->
  let between := fun f : R -> R => Rmin (f l) (f h) <= f x <= Rmax (f l) (f h) in
  (forall alpha beta', between (fast_unfused (-149) 24 choice alpha beta') /\
                       between (fast_fused (-149) 24 choice alpha beta')) /\
  (forall mu inv g b, between (fallback_unfused (-149) 24 choice mu inv g b) /\
                      between (fallback_fused (-149) 24 choice mu inv g b)).
Proof.
intros choice l x h Hx between.
exact (recipes_between_endpoints (-149) 24 choice l x h Hx).
Qed.

Print Assumptions recipes_between_endpoints.
Print Assumptions recipes_between_endpoints_b32.
