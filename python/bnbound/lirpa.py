"""bnbound inside auto_LiRPA: a ``BoundBatchNormalization`` whose bounds are sound.

auto_LiRPA computes a BatchNorm's scale and offset in torch floats and treats them as
exact; its IBP and CROWN bounds then exclude the outputs torch itself computes (on most
elements of a point box). This module replaces auto_LiRPA's BatchNorm bound class with
one whose IBP (``interval_propagate``) and CROWN back-substitution (``bound_backward``,
matrix and patches modes) come from bnbound::

    import bnbound.lirpa
    bnbound.lirpa.patch(semantics="deployed", runtime="pytorch-cpu")
    model = auto_LiRPA.BoundedModule(net, x0)       # built after patch()
    lb, ub = model.compute_bounds(x=(bounded_x,), method="CROWN")

or, for one model only, ``BoundedModule(net, x0, custom_ops=bnbound.lirpa.custom_ops(...))``.

What the bounds contain, given the layer's input bounds that auto_LiRPA passes in:

* ``semantics="real"``: the exact real output ``γ(x−μ)/√(σ²+ε) + β`` of the stored
  parameters.
* ``semantics="deployed", runtime="pytorch-cpu"`` (the default) or ``"onnxruntime-cpu"``:
  that, and every output the runtime computes in floats (``torch.nn.BatchNorm*d`` in eval
  mode on the CPU); ``runtime="any"`` (with ``ulps=``) every evaluation order with K-ulp
  ``√``, ``1/√``, ``÷`` (looser under CROWN: see ``Enclosure.backward_batch``).
* CROWN returns float coefficients ``M`` and biases with ``M·x + lower ≤ Λ·y ≤ M·x + upper``
  for every ``x`` in the layer's input box (so the class asks auto_LiRPA for that box:
  ``requires_input_bounds = [0]``). ``input_bounds="ibp"`` (the default) lets auto_LiRPA
  get that box by IBP through the node feeding the BatchNorm, when that node feeds
  nothing else (auto_LiRPA's ``ibp_intermediate`` flag on it, as for ReLU inputs), from
  the bounds it already holds; ``input_bounds="crown"`` by one more back-substitution
  per BatchNorm, as tight as auto_LiRPA can and about 2–4× the time of stock CROWN. The
  box enters the biases only through ``max |x|`` per channel and the runtime's deviation
  (both of the order of an ulp of the outputs), so the looser IBP box costs little.

Limits, stated plainly:

* End-to-end soundness also needs the verifier's other layers (Conv, Linear, ReLU
  relaxations, the final concretisation) to round outward; auto_LiRPA's do not. This
  module makes the BatchNorm layers sound, nothing else.
* Input bounds with ``lower > upper`` at some element (auto_LiRPA's own float CROWN
  produces them, by up to ~1e-4) describe an empty set in exact arithmetic and are
  outside bnbound's guarantee. ``on_crossing="hull"`` (the default) replaces such an
  element's bounds by ``[min, max]`` of the two, counts them in ``stats.crossed`` and
  warns once per call with :class:`CrossedBoundsWarning`; ``on_crossing="raise"`` raises
  ``bnbound.Error`` instead. They are never silently dropped.
* L∞ (box) perturbations only: a BatchNorm fed directly by an Lp-ball input (p ≠ ∞)
  raises ``bnbound.Error`` (auto_LiRPA's own Lp shortcut is not sound in floats).
* Eval mode only, with auto_LiRPA's default ``bn`` options (mean, variance and affine
  used); training mode or other options raise ``bnbound.Error``.
* Tensors on other devices are copied to the CPU and the results copied back; the
  deployed bounds are those of the named CPU runtime, not of a GPU kernel.
* float32 and float64 layers; tensors are read without rounding (another dtype raises).

``forward`` is auto_LiRPA's own (torch's ``F.batch_norm``: the computation being
bounded). Forward-mode LiRPA (``bound_forward``) raises ``bnbound.Error``.
"""

from __future__ import annotations

import math
import threading
import warnings
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch
from auto_LiRPA import register_custom_op, unregister_custom_op
from auto_LiRPA.operators import BoundBatchNormalization
from auto_LiRPA.operators.base import Interval
from auto_LiRPA.patches import Patches, inplace_unfold

import bnbound

OP = "onnx::BatchNormalization"
"""The ONNX op name auto_LiRPA maps to its BatchNorm bound class."""

__all__ = [
    "OP",
    "CrossedBoundsWarning",
    "Stats",
    "stats",
    "bound_class",
    "custom_ops",
    "patch",
    "unpatch",
]


class CrossedBoundsWarning(UserWarning):
    """auto_LiRPA passed input bounds with ``lower > upper`` (see the module's docs)."""


@dataclass
class Stats:
    """Counts since the last :meth:`reset`, over every patched layer."""

    calls: int = 0
    """Bound computations (IBP and CROWN sides) done by bnbound."""
    crossed: int = 0
    """Input elements whose lower bound exceeded their upper bound."""

    def reset(self) -> None:
        """Sets every count to zero."""
        self.calls = 0
        self.crossed = 0


stats = Stats()
_lock = threading.Lock()


def _np(t: torch.Tensor) -> np.ndarray:
    """A CPU numpy view (or copy, for other devices or layouts) of ``t``, same dtype."""
    t = t.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    return t.contiguous().numpy()


def _torch(a: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    t = torch.from_numpy(a)
    return t if like.device.type == "cpu" else t.to(like.device)


def _param(node: Any) -> torch.Tensor:
    for name in ("param", "value"):
        v = getattr(node, name, None)
        if isinstance(v, torch.Tensor):
            return v
    raise bnbound.Error(f"bnbound.lirpa: cannot read a BatchNorm parameter from {type(node).__name__}")


def bound_class(
    semantics: str = "deployed",
    runtime: Optional[str] = "pytorch-cpu",
    ulps: Optional[int] = None,
    on_crossing: str = "hull",
    input_bounds: str = "ibp",
) -> type:
    """A subclass of auto_LiRPA's ``BoundBatchNormalization`` whose IBP and CROWN bounds
    come from bnbound in the given semantics (see the module's docs); ``input_bounds``
    (``"ibp"`` or ``"crown"``) says how auto_LiRPA bounds the layer's input for CROWN.

    >>> cls = bound_class(semantics="real", runtime=None)
    >>> issubclass(cls, BoundBatchNormalization)
    True
    """
    if on_crossing not in ("hull", "raise"):
        raise bnbound.Error(f'on_crossing={on_crossing!r}: expected "hull" or "raise"')
    if input_bounds not in ("ibp", "crown"):
        raise bnbound.Error(f'input_bounds={input_bounds!r}: expected "ibp" or "crown"')
    if semantics == "real" and runtime is not None:
        raise bnbound.Error('semantics="real" takes no runtime (pass runtime=None)')
    # Validate the names once, now, by the library's rules.
    probe = bnbound.BatchNorm(
        np.ones(1, np.float32), np.zeros(1, np.float32), np.zeros(1, np.float32),
        np.ones(1, np.float32), 0.0,
    ).enclose()
    one = np.zeros((1, 1), np.float32)
    probe.ibp(one, one, semantics=semantics, runtime=runtime, ulps=ulps)
    opts: Dict[str, Any] = {"semantics": semantics, "runtime": runtime, "ulps": ulps}

    class SoundBatchNormalization(BoundBatchNormalization):
        __doc__ = (
            f"auto_LiRPA's BatchNorm with bnbound's bounds ({semantics}"
            f"{', ' + runtime if runtime else ''})."
        )
        bnbound_options = dict(opts, on_crossing=on_crossing, input_bounds=input_bounds)

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.requires_input_bounds = [0]
            self._bnbound_cache: Optional[Tuple[Any, Any]] = None

        def update_requires_input_bounds(self) -> None:
            super().update_requires_input_bounds()
            if 0 not in self.requires_input_bounds:
                self.requires_input_bounds = [0] + list(self.requires_input_bounds)
            inp = self.inputs[0] if self.inputs else None
            if input_bounds == "ibp" and inp is not None and list(inp.output_name) == [self.name]:
                # The input node feeds this BatchNorm only: let auto_LiRPA bound it by IBP
                # from the bounds it already has (its own mechanism for ReLU inputs) instead
                # of one more back-substitution; no other node reads these bounds.
                inp.ibp_intermediate = True

        # -- the layer -------------------------------------------------------------
        def _refuse_unsupported(self) -> None:
            if self.training:
                raise bnbound.Error("bnbound.lirpa: BatchNorm in training mode is not bounded (eval only)")
            if not (self.use_mean and self.use_var and self.use_affine) or self.bn_mode != "forward":
                raise bnbound.Error(
                    "bnbound.lirpa: auto_LiRPA's bn options (mode, mean, var, affine) must be "
                    "the defaults: other options change the function being bounded"
                )

        def _enclosure(self, w: torch.Tensor, b: torch.Tensor, m: torch.Tensor, v: torch.Tensor) -> Any:
            self._refuse_unsupported()
            arrays = [_np(t) for t in (w, b, m, v)]
            # Keyed by the parameters' values (C elements each), never by addresses that a
            # freed tensor's successor could reuse: a cached enclosure is always this layer's.
            key = (float(self.eps),) + tuple((a.dtype.str, a.shape, a.tobytes()) for a in arrays)
            cache = self._bnbound_cache
            if cache is not None and cache[0] == key:
                return cache[1]
            layer = bnbound.BatchNorm(*arrays, float(self.eps))
            enc = layer.enclose()
            self._bnbound_cache = (key, enc)
            return enc

        def _box(self, lo: torch.Tensor, hi: torch.Tensor) -> Tuple[np.ndarray, np.ndarray]:
            l, h = _np(lo), _np(hi)
            crossed = l > h
            k = int(np.count_nonzero(crossed))
            if k:
                if on_crossing == "raise":
                    i = np.unravel_index(int(np.argmax(crossed)), crossed.shape)
                    raise bnbound.Error(
                        f"bnbound.lirpa: layer {self.name}: input lower > upper at {k} elements "
                        f"(first {tuple(int(j) for j in i)}: {float(l[i])!r} > {float(h[i])!r})"
                    )
                with _lock:
                    stats.crossed += k
                warnings.warn(
                    f"bnbound.lirpa: layer {self.name}: auto_LiRPA passed lower > upper at {k} "
                    f"input elements (largest gap {float(np.max(l - h)):.3g}); bounding their "
                    "hull [min, max], which is outside bnbound's guarantee",
                    CrossedBoundsWarning,
                    stacklevel=3,
                )
                l, h = np.minimum(l, h), np.maximum(l, h)
            return l, h

        # -- IBP -------------------------------------------------------------------
        def interval_propagate(self, *v: Any) -> Tuple[torch.Tensor, torch.Tensor]:
            norm = Interval.get_perturbation(v[0])[0]
            if norm != math.inf:
                raise bnbound.Error(
                    f"bnbound.lirpa: layer {self.name}: an L{norm} perturbation reaches this "
                    "BatchNorm directly; only box (L∞) inputs are bounded"
                )
            h_L, h_U = v[0][0], v[0][1]
            enc = self._enclosure(v[1][0], v[2][0], v[3][0], v[4][0])
            lo, hi = self._box(h_L, h_U)
            ylo, yhi = enc.ibp(lo, hi, **opts)
            with _lock:
                stats.calls += 1
            return _torch(ylo, h_L), _torch(yhi, h_U)

        # -- CROWN -----------------------------------------------------------------
        def bound_forward(self, dim_in: int, *x: Any) -> Any:
            raise bnbound.Error("bnbound.lirpa: forward-mode LiRPA through BatchNorm is not bounded; use IBP or CROWN")

        def bound_backward(self, last_lA: Any, last_uA: Any, *x: Any, **kwargs: Any) -> Any:
            assert not self.is_input_perturbed(1) and not self.is_input_perturbed(2), \
                "Weight perturbation is not supported for BoundBatchNormalization"
            enc = self._enclosure(_param(x[1]), _param(x[2]), _param(x[3]), _param(x[4]))
            inp = x[0]
            ptb = getattr(inp, "perturbation", None)
            if ptb is not None and getattr(ptb, "norm", None) != math.inf:
                # auto_LiRPA keeps an Lp-ball input's centre as its lower and upper bound:
                # not a box of the input, so nothing sound follows from it.
                raise bnbound.Error(
                    f"bnbound.lirpa: layer {self.name}: a {type(ptb).__name__} "
                    f"(norm {getattr(ptb, 'norm', '?')}) reaches this BatchNorm directly; only "
                    "box (L∞) inputs are bounded"
                )
            if getattr(inp, "lower", None) is None or getattr(inp, "upper", None) is None:
                raise bnbound.Error(
                    f"bnbound.lirpa: layer {self.name}: auto_LiRPA gave no bounds for the "
                    "BatchNorm's input (needed for sound CROWN coefficients)"
                )
            xl, xh = self._box(inp.lower, inp.upper)

            def both(last_A: Any) -> Tuple[Any, Any, Any]:
                """(new A, lower bias, upper bias) for one coefficient tensor."""
                if isinstance(last_A, torch.Tensor):
                    out = _matrix(enc, opts, last_A, xl, xh)
                elif isinstance(last_A, Patches):
                    out = _patches(enc, opts, last_A, xl, xh)
                else:
                    raise bnbound.Error(f"bnbound.lirpa: unknown coefficient type {type(last_A).__name__}")
                with _lock:
                    stats.calls += 1
                return out

            if last_lA is not None and last_lA is last_uA:
                # One call gives both sides (auto_LiRPA starts intermediate bounds this way).
                A, lbias, ubias = both(last_lA)
                lA = uA = A
            elif _stackable(last_lA, last_uA):
                # Both sides in one call over the same boxes: the boxes are unfolded and the
                # runtime's deviations derived once, not twice.
                (lA, uA), lbias, ubias = _pair(enc, opts, last_lA, last_uA, xl, xh)
                with _lock:
                    stats.calls += 2
            else:
                lA, lbias, uA, ubias = None, 0, None, 0
                if last_lA is not None:
                    lA, lbias, _ = both(last_lA)
                if last_uA is not None:
                    uA, _, ubias = both(last_uA)
            return [(lA, uA), (None, None), (None, None), (None, None), (None, None)], lbias, ubias

    return SoundBatchNormalization


def _stackable(a: Any, b: Any) -> bool:
    """Whether two coefficient tensors can go through one ``backward_batch`` call (stacked
    along the spec axis): same kind, same shape, dtype and, for patches, same geometry."""
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a.shape == b.shape and a.dtype == b.dtype and a.device == b.device
    if isinstance(a, Patches) and isinstance(b, Patches):
        same = ("stride", "padding", "inserted_zeros", "output_padding", "identity", "output_shape")
        return (
            a.patches.shape == b.patches.shape
            and a.patches.dtype == b.patches.dtype
            and a.patches.device == b.patches.device
            and all(getattr(a, k, None) == getattr(b, k, None) for k in same)
            and _same_index(a.unstable_idx, b.unstable_idx)
        )
    return False


def _same_index(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


def _pair(
    enc: Any, opts: Dict[str, Any], lA: Any, uA: Any, xl: np.ndarray, xh: np.ndarray
) -> Tuple[Tuple[Any, Any], torch.Tensor, torch.Tensor]:
    """Both sides in one call: ``lA`` and ``uA`` stacked along the spec axis (each row keeps
    its box, since the rows of each half cover the boxes in the same order); the lower
    bias is read from ``lA``'s half, the upper from ``uA``'s."""
    k = lA.shape[0] if isinstance(lA, torch.Tensor) else lA.patches.shape[0]
    if isinstance(lA, torch.Tensor):
        M, lo, hi = _matrix(enc, opts, torch.cat([lA.detach(), uA.detach()]), xl, xh)
        return (M[:k], M[k:]), lo[:k], hi[k:]
    stacked = lA.create_similar(torch.cat([lA.patches.detach(), uA.patches.detach()]))
    M, lo, hi = _patches(enc, opts, stacked, xl, xh)
    return (lA.create_similar(M.patches[:k]), uA.create_similar(M.patches[k:])), lo[:k], hi[k:]


def _matrix(
    enc: Any, opts: Dict[str, Any], last_A: torch.Tensor, xl: np.ndarray, xh: np.ndarray
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``last_A`` of shape spec × batch × (the box's shape)."""
    M, lo, hi = enc.backward_batch(_np(last_A), xl, xh, **opts)
    return _torch(M, last_A), _torch(lo, last_A), _torch(hi, last_A)


def _patches(
    enc: Any, opts: Dict[str, Any], last_A: Patches, xl: np.ndarray, xh: np.ndarray
) -> Tuple[Patches, torch.Tensor, torch.Tensor]:
    """Patches over the BatchNorm's output (the next convolution's input): the box is
    unfolded as the convolution reads it; padding positions take no BatchNorm output, so
    their coefficients are zeroed before the call and contribute nothing."""
    if last_A.identity == 1:
        raise bnbound.Error("bnbound.lirpa: identity patches right after a BatchNorm are not supported")
    P = last_A.patches
    if P.ndim not in (5, 7):
        raise bnbound.Error(f"bnbound.lirpa: patches of rank {P.ndim} are not supported")
    kh, kw = P.shape[-2:]
    unfold = dict(
        kernel_size=(kh, kw), stride=last_A.stride, padding=last_A.padding,
        inserted_zeros=last_A.inserted_zeros, output_padding=last_A.output_padding,
    )
    tl, th = torch.from_numpy(xl), torch.from_numpy(xh)
    ones = torch.ones((1,) + tuple(tl.shape[1:]), dtype=tl.dtype)
    # (batch, out_h, out_w, C, kh, kw); padding reads 0.
    ul, uh, mask = (inplace_unfold(t, **unfold) for t in (tl, th, ones))
    Pc = P.detach().cpu()
    if last_A.unstable_idx is None:
        lam = Pc * mask.unsqueeze(0)  # × 1 or × 0: exact
        bl, bh = ul, uh
    else:
        _, hi_idx, wi_idx = last_A.unstable_idx
        hi_idx, wi_idx = hi_idx.cpu(), wi_idx.cpu()
        # (U, batch, C, kh, kw): each unstable neuron's window, per batch element.
        bl = ul[:, hi_idx, wi_idx].transpose(0, 1)
        bh = uh[:, hi_idx, wi_idx].transpose(0, 1)
        lam = Pc * mask[:, hi_idx, wi_idx].transpose(0, 1)
    sample = list(P.shape[-3:])
    M, lo, hi = enc.backward_batch(
        lam.contiguous().numpy(), bl.contiguous().numpy(), bh.contiguous().numpy(), sample,
        **opts,
    )
    ref = last_A.patches
    return last_A.create_similar(_torch(M, ref)), _torch(lo, ref), _torch(hi, ref)


def custom_ops(
    semantics: str = "deployed",
    runtime: Optional[str] = "pytorch-cpu",
    ulps: Optional[int] = None,
    on_crossing: str = "hull",
    input_bounds: str = "ibp",
) -> Dict[str, type]:
    """``{OP: bound_class(...)}`` for ``BoundedModule(..., custom_ops=...)``: one model
    patched, others untouched.

    >>> list(custom_ops(runtime="onnxruntime-cpu"))
    ['onnx::BatchNormalization']
    """
    return {OP: bound_class(semantics, runtime, ulps, on_crossing, input_bounds)}


def patch(
    semantics: str = "deployed",
    runtime: Optional[str] = "pytorch-cpu",
    ulps: Optional[int] = None,
    on_crossing: str = "hull",
    input_bounds: str = "ibp",
) -> type:
    """Registers :func:`bound_class` for every ``BoundedModule`` built afterwards (through
    auto_LiRPA's ``register_custom_op``) and returns it; :func:`unpatch` undoes it.

    >>> cls = patch(semantics="real", runtime=None); unpatch()
    """
    cls = bound_class(semantics, runtime, ulps, on_crossing, input_bounds)
    register_custom_op(OP, cls)
    return cls


def unpatch() -> None:
    """Removes the registration made by :func:`patch` (auto_LiRPA's own class again);
    nothing happens if none is registered.

    >>> unpatch()
    """
    try:
        unregister_custom_op(OP)
    except KeyError:
        pass
