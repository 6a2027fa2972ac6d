"""bnbound: sound bounds for inference-time BatchNorm, on numpy arrays.

Every bound returned contains the exact result of the semantics it names:

* ``semantics="real"`` (default): the real-number function
  ``y = γ(x − μ)/√(σ² + ε) + β = s·x + o`` of the stored float parameters, converted
  exactly (no rounding anywhere in the function bounded).
* ``semantics="deployed", runtime=R``: that real image *and* every output runtime ``R``
  computes in floats for an input of the box: ``"pytorch-cpu"`` and ``"onnxruntime-cpu"``
  (their CPU recipes replayed, with and without FMA contraction), or ``"any"`` (every
  evaluation order of the formula, ``+ − ×`` correctly rounded, ``√``, ``1/√``, ``÷``
  within ``ulps`` ulps, default 2, at most ``MAX_ULPS``).

Invalid input raises :class:`Error` (a ``ValueError``) naming the field, channel or
element; nothing the caller passed is modified. Arrays: any array-like; a numpy array of
another float dtype than the layer's is refused, lists and integer arrays are converted
only where exact.
"""

from os import PathLike
from typing import Literal, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

ArrayLike = npt.ArrayLike
Pair = Tuple[np.ndarray, np.ndarray]
Form = Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
Semantics = Optional[Literal["real", "deployed"]]
RuntimeName = Optional[Literal["pytorch-cpu", "onnxruntime-cpu", "any"]]

HAS_TIGHT: bool
"""Whether this build has tight mode (built with ``--features mpfr``)."""

MAX_ULPS: int
"""The largest ``ulps`` accepted with ``runtime="any"`` (2**20)."""

class Error(ValueError):
    """Invalid input: bad parameters or boxes (NaN, ∞ parameters, ``lo > hi``, negative
    variance, ``var + eps <= 0``), a wrong dtype, shape or length, an unknown keyword
    value, a malformed or hostile model file, or a NaN the runtime would compute."""

class BatchNorm:
    """An inference BatchNorm layer with float32 or float64 parameters.

    ``BatchNorm(gamma, beta, running_mean, running_var, eps, *, dtype=None)``: four 1-D
    arrays of one float dtype (or lists, read as float64 unless ``dtype`` says otherwise).
    ``eps``: a Python float is rounded to nearest in the layer's dtype, as PyTorch's
    ``(float)eps``; a numpy scalar of the layer's dtype is taken as it is; a nonzero eps
    that becomes 0 or ∞ is an error. Validated: finite parameters, ``σ² ≥ 0``,
    ``σ² + ε > 0`` exactly, equal lengths, at least one channel.
    """

    def __init__(
        self,
        gamma: ArrayLike,
        beta: ArrayLike,
        running_mean: ArrayLike,
        running_var: ArrayLike,
        eps: Union[float, np.floating],
        *,
        dtype: Optional[npt.DTypeLike] = None,
    ) -> None: ...
    @property
    def channels(self) -> int: ...
    @property
    def dtype(self) -> np.dtype: ...
    @property
    def gamma(self) -> np.ndarray:
        """A copy, of the layer's dtype."""
    @property
    def beta(self) -> np.ndarray: ...
    @property
    def running_mean(self) -> np.ndarray: ...
    @property
    def running_var(self) -> np.ndarray: ...
    @property
    def eps(self) -> float:
        """ε as the layer holds it (a value of its dtype), exactly."""
    @property
    def stored_as(self) -> Optional[str]:
        """For a loaded layer, the element types in the file (e.g. "float16")."""
    @property
    def storage(self) -> Optional[Literal["f16", "bf16"]]:
        """For a layer loaded from 16-bit statistics, the storage type (the layer is
        float32, converted exactly); None otherwise. Deployed semantics on such a layer
        bounds that type's arithmetic (f32 opmath, each result rounded to the storage type):
        bounds are float32 arrays of values of the storage type; ``lo``/``hi`` must be values
        of it (an f16 layer also takes numpy float16 arrays). Deployed ``derivative`` and
        deployed ``check_ibp`` are refused for it (no 16-bit recipe); ``onnxruntime-cpu``
        is refused until the library has one (use ``runtime="any"``)."""
    def enclose(self, mode: Literal["fast", "tight"] = "fast") -> "Enclosure":
        """The layer's sound enclosure. ``mode="tight"`` (MPFR builds): every bound is the
        tightest float bound of the semantics (the next float inward is unsound)."""

class Enclosure:
    """Intervals around the exact ``s = γ/√(σ² + ε)`` and ``o = β − μ·s`` of every channel,
    and the operations built on them. Results have the layer's dtype unless stated."""

    @property
    def mode(self) -> str: ...
    @property
    def channels(self) -> int: ...
    @property
    def scale(self) -> Pair:
        """(lo, hi), float64 arrays of length C: ``lo[c] ≤ s_c ≤ hi[c]`` exactly."""
    @property
    def offset(self) -> Pair:
        """(lo, hi), float64 arrays of length C: ``lo[c] ≤ o_c ≤ hi[c]`` exactly."""
    def ibp(
        self,
        lo: ArrayLike,
        hi: ArrayLike,
        *,
        out: Optional[Pair] = None,
        semantics: Semantics = None,
        runtime: RuntimeName = None,
        ulps: Optional[int] = None,
    ) -> Pair:
        """Interval bound propagation: ``(ylo, yhi)`` with ``ylo ≤ f(x) ≤ yhi`` element-wise
        for every ``x`` in ``[lo, hi]`` (endpoints may be ±inf), ``f`` the semantics'
        function. Rank 1–5; the channel axis is 1 (0 for rank 1). ``out=(ylo, yhi)``: two
        writeable C-contiguous arrays of the layer's dtype and the input's shape, sharing
        no memory with the inputs, written only on success and returned. Torch tensors in
        (read detached, from the CPU; float16/bfloat16 widened exactly) give torch tensors
        out, on the first tensor's device (also for ``derivative``,
        ``backward_batch``, ``compose`` and ``backward``)."""
    def derivative(
        self,
        dlo: ArrayLike,
        dhi: ArrayLike,
        order: Literal[1, 2] = 1,
        *,
        out: Optional[Pair] = None,
        semantics: Semantics = None,
        runtime: RuntimeName = None,
        ulps: Optional[int] = None,
    ) -> Pair:
        """Chain-rule bounds: given bounds ``[dlo, dhi]`` on ``g'`` (order 1) or ``g''``
        (order 2) of the layer's input, a box containing ``s·d`` for every ``d`` in it —
        ``(BN∘g)' = s·g'`` and ``(BN∘g)'' = s·g''``. Deployed semantics also contains the
        slopes the runtime applies to ``x``."""
    def compose(
        self,
        A_lo: ArrayLike,
        A_hi: ArrayLike,
        c_lo: ArrayLike,
        c_hi: ArrayLike,
        shape: Optional[Sequence[int]] = None,
        *,
        semantics: Semantics = None,
        runtime: RuntimeName = None,
        ulps: Optional[int] = None,
        x_lo: Optional[ArrayLike] = None,
        x_hi: Optional[ArrayLike] = None,
    ) -> Form:
        """Forward composition of the form ``A·x + c`` (A: rows × cols, c: rows) with the
        layer: ``(A_lo, A_hi, c_lo, c_hi)`` containing ``diag(s)·A`` and ``s∘c + o`` for
        every ``A``, ``c`` in the given intervals. Row ``r`` belongs to channel ``r`` (one
        row per channel), or with ``shape=[C, d1, …]`` (a CNN sample, channel first) to
        channel ``r // (d1·…)``. With ``semantics="deployed"`` (``runtime`` "pytorch-cpu"
        or "onnxruntime-cpu") the layer's input box ``x_lo, x_hi`` (one element per row)
        is required, and each row's constant is widened by a bound on the runtime's
        distance to the exact map over that element, so the form also contains every
        output the runtime computes for inputs in the box."""
    def backward(
        self,
        L_lo: ArrayLike,
        L_hi: ArrayLike,
        d_lo: ArrayLike,
        d_hi: ArrayLike,
        shape: Optional[Sequence[int]] = None,
        *,
        semantics: Semantics = None,
        runtime: RuntimeName = None,
        ulps: Optional[int] = None,
        x_lo: Optional[ArrayLike] = None,
        x_hi: Optional[ArrayLike] = None,
    ) -> Form:
        """CROWN-style back-substitution of ``L·y + d`` (L: k × cols) through the layer:
        ``(L_lo, L_hi, d_lo, d_hi)`` containing ``L·diag(s)`` and ``d + L·o`` for every
        ``L``, ``d`` in the given intervals — the form as a function of the layer's
        input. Column ``j`` belongs to channel ``j`` or, with ``shape=[C, H, W]``, to
        channel ``j // (H·W)`` (CROWN's Λ of shape k × (C·H·W)). With
        ``semantics="deployed"`` (``runtime`` "pytorch-cpu" or "onnxruntime-cpu") the
        layer's input box ``x_lo, x_hi`` (one element per column, flat) is required: for
        every ``x`` in it the form contains ``L·y + d`` for every output ``y`` the runtime
        computes (``d'`` widened by ``Σ L·δ``, ``δ`` bounding the runtime's distance to the
        exact map over each element; for ``runtime="any"`` the model's image of the
        element's interval minus its real image, tight only for narrow intervals)."""
    def backward_batch(
        self,
        lam: ArrayLike,
        x_lo: ArrayLike,
        x_hi: ArrayLike,
        sample: Optional[Sequence[int]] = None,
        *,
        semantics: Semantics = None,
        runtime: RuntimeName = None,
        ulps: Optional[int] = None,
    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Back-substitution as verifiers call it: point coefficients ``lam`` of shape
        ``(…, *x_lo.shape)`` (auto_LiRPA's ``A``: spec × batch × C × H × W over boxes
        ``x_lo, x_hi`` of shape batch × C × H × W) give ``(M, lower, upper)`` with ``M``
        of ``lam``'s shape and ``lower``, ``upper`` of shape ``lam.shape[:-len(sample)]``
        such that, for every row ``r`` and every ``x`` of its box (rows cycle over the
        boxes), ``M_r·x + lower_r ≤ lam_r·y ≤ M_r·x + upper_r`` in exact arithmetic, for
        the exact output ``y`` and, with ``semantics="deployed"``, every output the runtime
        computes at ``x``. ``sample`` (default ``x_lo.shape[1:]``) is the per-box shape
        ``[C, …]`` whose first axis is the channel (``[C, kh, kw]`` for unfolded patches).
        With ``runtime="any"`` the deviation is derived per element (looser on wide
        boxes)."""


class Violation:
    """One unsound claimed bound."""

    index: int
    """Flat row-major index (forms: the entries of A, then those of c)."""
    side: Literal["lo", "hi"]
    witness: float
    """An input (or coefficient) at which the exact output escapes; ±inf if unbounded."""
    excess: float
    """How far outside (excess_text as a float); inf when the image is unbounded."""
    excess_text: str
    """The excess correctly rounded to 17 significant digits, or "inf"."""
    source: str
    """"real", or the runtime whose float output escapes."""

class CheckReport:
    """An exact verdict (rational arithmetic only)."""

    sound: bool
    checked: int
    unsound: int
    """How many claimed bounds are unsound (all of them; under deployed semantics a side
    may fail twice, against the real image and against the runtime)."""
    unsound_elements: int
    """How many elements (or form entries) have an unsound bound: comparable with
    ``checked``."""
    violations: list[Violation]
    """The first ``keep`` violations, in element order."""

def check_ibp(
    bn: BatchNorm,
    lo: ArrayLike,
    hi: ArrayLike,
    claimed_lo: ArrayLike,
    claimed_hi: ArrayLike,
    *,
    semantics: Semantics = None,
    runtime: Optional[Literal["pytorch-cpu", "onnxruntime-cpu"]] = None,
    ulps: None = None,
    keep: int = 100,
) -> CheckReport:
    """Decides exactly whether ``[claimed_lo, claimed_hi]`` contains the image of
    ``[lo, hi]`` element-wise (and, for deployed semantics, every output of the named
    runtime). ``runtime="any"`` is refused: its bounds over-approximate."""

def check_derivative(
    bn: BatchNorm, dlo: ArrayLike, dhi: ArrayLike, claimed_lo: ArrayLike,
    claimed_hi: ArrayLike, *, keep: int = 100,
) -> CheckReport:
    """Decides whether the claim contains ``s·d`` for every ``d`` in ``[dlo, dhi]``."""

def check_compose(
    bn: BatchNorm, form: Form, claimed: Form, *, shape: Optional[Sequence[int]] = None,
    keep: int = 100,
) -> CheckReport:
    """Decides a claimed ``Enclosure.compose`` result (forms as 4-tuples)."""

def check_backward(
    bn: BatchNorm, form: Form, claimed: Form, *, shape: Optional[Sequence[int]] = None,
    keep: int = 100,
) -> CheckReport:
    """Decides a claimed ``Enclosure.backward`` result; a bias witness is an endpoint of d."""

def load_onnx(path: Union[str, PathLike], layer: Optional[str] = None) -> dict[str, BatchNorm]:
    """Every BatchNormalization node of an ONNX model (``.onnx`` or ``.onnx.gz``), or only
    ``layer``, with parameters converted exactly (float16/bfloat16/float give float32
    layers). Hostile files are errors: size limits, external data only inside the model's
    folder, training-mode and legacy forms refused. One unusable layer is an error naming it
    and listing the model's layers; ``inspect_onnx`` gives each layer its own result."""

class LayerInfo:
    """One layer of a model file, loaded on its own."""

    name: str
    layer: Optional[BatchNorm]
    """The layer, or None when it cannot be used (then ``error`` says why)."""
    error: Optional[str]
    producer: Optional[str]
    """The node producing the layer's input (ONNX)."""
    consumers: list[str]
    """The nodes consuming its output (ONNX)."""

def inspect_onnx(path: Union[str, PathLike]) -> list[LayerInfo]:
    """Every BatchNormalization node in graph order, each with its layer or its own error
    (what ``bnbound inspect`` reports): one unusable layer does not hide the others. An
    unreadable file is still a ``bnbound.Error``."""

def inspect_safetensors(
    path: Union[str, PathLike],
    eps: float = 1e-5,
    eps_dtype: Literal["f32", "f64"] = "f32",
) -> list[LayerInfo]:
    """Every BatchNorm prefix of a state_dict (sorted), each with its layer or its own
    error; ``eps``/``eps_dtype`` as for ``load_safetensors``."""

def load_safetensors(
    path: Union[str, PathLike],
    prefix: str,
    eps: float = 1e-5,
    eps_dtype: Literal["f32", "f64"] = "f32",
) -> BatchNorm:
    """One BatchNorm of a PyTorch state_dict (``prefix.weight``, ``.bias``,
    ``.running_mean``, ``.running_var``; γ = 1, β = 0 without weight and bias). A
    state_dict has no ε: ``eps`` is rounded to nearest in ``eps_dtype`` as PyTorch's
    ``(float)eps``."""
