"""Deployed semantics from Python: ONNX Runtime's actual outputs (the engine, through a
model that bnbound.load_onnx reads) and an emulation of PyTorch's CPU recipe (numpy's
correctly rounded float ops, FMA by exact rounding of a fraction) lie inside the deployed
bounds, while some lie outside the real ones; runtime="any" contains both."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import bnbound
from conftest import DTYPES
from oracle import frac, round_to

RT = "onnxruntime-cpu"


def typical_layer(rng, dtype, c):
    g = (rng.uniform(0.5, 1.5, c) * rng.choice([-1, 1], c)).astype(dtype)
    b = rng.uniform(-0.3, 0.3, c).astype(dtype)
    m = rng.uniform(-1, 1, c).astype(dtype)
    v = rng.uniform(0.001, 0.3, c).astype(dtype)
    return g, b, m, v


def onnx_model(path, params, eps, dtype, shape):
    elem = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE
    inits = [numpy_helper.from_array(a, n) for a, n in zip(params, ["scale", "B", "mean", "var"])]
    node = helper.make_node("BatchNormalization", ["x", "scale", "B", "mean", "var"], ["y"],
                            name="bn", epsilon=eps)
    graph = helper.make_graph([node], "bn", [helper.make_tensor_value_info("x", elem, list(shape))],
                              [helper.make_tensor_value_info("y", elem, list(shape))], initializer=inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
    m.ir_version = 8
    onnx.save(m, path)


@pytest.mark.parametrize("dtype", DTYPES)
def test_onnxruntime_outputs_lie_inside_the_deployed_bounds(rng, tmp_path, dtype):
    c, shape = 16, (8, 16, 4, 4)
    params = typical_layer(rng, dtype, c)
    path = str(tmp_path / "bn.onnx")
    onnx_model(path, params, 1e-5, dtype, shape)
    bn = bnbound.load_onnx(path)["bn"]
    assert bn.dtype == dtype
    x = rng.uniform(-4, 4, shape).astype(dtype)
    outside_real = 0
    for level in (ort.GraphOptimizationLevel.ORT_DISABLE_ALL, ort.GraphOptimizationLevel.ORT_ENABLE_ALL):
        so = ort.SessionOptions()
        so.graph_optimization_level = level
        y = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
        enc = bn.enclose()
        dlo, dhi = enc.ibp(x, x, semantics="deployed", runtime=RT)
        assert ((dlo <= y) & (y <= dhi)).all()
        alo, ahi = enc.ibp(x, x, semantics="deployed", runtime="any")
        assert ((alo <= dlo) & (dhi <= ahi)).all()
        rlo, rhi = enc.ibp(x, x)
        outside_real += int(((y < rlo) | (y > rhi)).sum())
    print(f"{np.dtype(dtype).name}: {outside_real} of {2 * x.size} ONNX Runtime outputs outside the real bounds, 0 outside the deployed")
    if dtype == np.float32:
        assert outside_real > 0  # the gap deployed semantics closes


def pytorch_outputs(g, b, m, v, e, x, dtype):
    """Every output of PyTorch's CPU recipes (fast path with/without FMA, fallback)."""
    t = dtype
    q = t(v) + t(e)
    inv = t(1) / np.sqrt(q)
    alpha = inv * t(g)
    fma = lambda a, bb, cc: round_to(frac(a) * frac(bb) + frac(cc), t)
    outs = []
    for beta2 in (t(b) - t(m) * alpha, fma(-t(m), alpha, t(b))):
        outs.append(t(x) * alpha + beta2)
        outs.append(fma(t(x), alpha, beta2))
    d = (t(x) - t(m)) * inv
    outs.append(d * t(g) + t(b))
    outs.append(fma(d, t(g), t(b)))
    return outs


@pytest.mark.parametrize("dtype", DTYPES)
def test_pytorch_recipe_outputs_lie_inside_the_deployed_bounds(rng, dtype):
    c = 8
    g, b, m, v = typical_layer(rng, dtype, c)
    e = dtype(1e-5)
    bn = bnbound.BatchNorm(g, b, m, v, e)
    enc = bn.enclose()
    outside_real = 0
    with np.errstate(all="ignore"):
        for _ in range(40):
            x = rng.uniform(-3, 3, (1, c)).astype(dtype)
            # Near-cancelling inputs too: x ≈ μ − β·√q/γ.
            x[0, ::2] = (m[::2] - b[::2] * np.sqrt(v[::2] + e) / g[::2]).astype(dtype)
            dlo, dhi = enc.ibp(x, x, semantics="deployed", runtime="pytorch-cpu")
            rlo, rhi = enc.ibp(x, x)
            for k in range(c):
                for y in pytorch_outputs(g[k], b[k], m[k], v[k], e, x[0, k], dtype):
                    assert dlo[0, k] <= y <= dhi[0, k], (k, y, dlo[0, k], dhi[0, k])
                    outside_real += not (rlo[0, k] <= y <= rhi[0, k])
    print(f"{np.dtype(dtype).name}: {outside_real} emulated PyTorch outputs outside the real bounds")


@pytest.mark.parametrize("dtype", DTYPES)
def test_deployed_bounds_are_kept_per_semantics(rng, dtype):
    """An enclosure builds each deployed semantics' constants once and keeps the last
    few: asking again, or after more semantics than it keeps, gives the same bounds as a
    fresh enclosure, and each semantics its own (`any:K` widens with K)."""
    c = 5
    g, b, m, v = typical_layer(rng, dtype, c)
    bn = bnbound.BatchNorm(g, b, m, v, dtype(1e-5))
    enc = bn.enclose()
    x = rng.uniform(-2, 2, (3, c)).astype(dtype)
    names = [("pytorch-cpu", None), ("onnxruntime-cpu", None)] + [("any", k) for k in range(12)]
    first = {}
    for _ in range(2):
        for rt, k in names:
            got = enc.ibp(x, x + dtype(0.5), semantics="deployed", runtime=rt, ulps=k)
            fresh = bn.enclose().ibp(x, x + dtype(0.5), semantics="deployed", runtime=rt, ulps=k)
            assert all(np.array_equal(a, f) for a, f in zip(got, fresh)), (rt, k)
            if (rt, k) in first:
                assert all(np.array_equal(a, f) for a, f in zip(got, first[(rt, k)])), (rt, k)
            first[(rt, k)] = got
    lo0, hi0 = first[("any", 0)]
    lo11, hi11 = first[("any", 11)]
    assert np.all(lo11 <= lo0) and np.all(hi0 <= hi11) and np.any((lo11 < lo0) | (hi0 < hi11))
