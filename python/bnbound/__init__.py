"""bnbound: sound bounds for inference-time BatchNorm, on numpy arrays.

Inference BatchNorm is affine, ``y = γ(x − μ)/√(σ² + ε) + β = s·x + o``. Verifiers compute
``s`` and ``o`` in round-to-nearest floats and treat them as exact; bnbound encloses them
in rigorous intervals and propagates boxes, affine forms and derivative bounds from there.
Every bound a function returns contains the exact result of the semantics it names:

* ``semantics="real"`` (the default): the real-number function of the stored float
  parameters (converted exactly).
* ``semantics="deployed", runtime=R``: that real image *and* every output runtime ``R``
  ("pytorch-cpu", "onnxruntime-cpu", or "any" with ``ulps=K``) computes in floats.

Every computation is done by the Rust library; this package converts arrays (never with a
cast that rounds), validates and releases the GIL. Invalid input raises ``bnbound.Error``
(a ``ValueError``) naming the field, channel or element; nothing passed is modified.
See ``help(bnbound.BatchNorm)`` and the ``.pyi`` stubs for each contract.
"""

from ._native import (
    HAS_TIGHT,
    MAX_ULPS,
    BatchNorm,
    CheckReport,
    Enclosure,
    Error,
    LayerInfo,
    Violation,
    check_backward,
    check_compose,
    check_derivative,
    check_ibp,
    inspect_onnx,
    inspect_safetensors,
    load_onnx,
    load_safetensors,
)

__all__ = [
    "HAS_TIGHT",
    "MAX_ULPS",
    "BatchNorm",
    "CheckReport",
    "Enclosure",
    "Error",
    "LayerInfo",
    "Violation",
    "check_backward",
    "check_compose",
    "check_derivative",
    "check_ibp",
    "inspect_onnx",
    "inspect_safetensors",
    "load_onnx",
    "load_safetensors",
]
__version__ = "0.1.0"
