"""CROWN through BatchNorm under deployed semantics from Python: backward (and compose)
with semantics="deployed" and the layer's input box give forms that contain what ONNX
Runtime really computes (the engine) and every output of the emulated PyTorch recipes, at
points of the box, decided in exact fractions; the real forms miss some of them."""

from fractions import Fraction

import numpy as np
import onnxruntime as ort
import pytest

import bnbound
from conftest import DTYPES
from oracle import frac
from test_deployed import onnx_model, pytorch_outputs, typical_layer


def form_contains(Llo, Lhi, dlo, dhi, x, lam, d, ys):
    """Whether, at the point x (flat), every row of the form contains lam·y + d for every
    choice of y[j] among ys[j] (exact fractions); rows with an infinite entry are skipped.
    Returns (rows decided, rows failing)."""
    decided = failing = 0
    for r in range(Llo.shape[0]):
        if not (np.isfinite(dlo[r]) and np.isfinite(dhi[r]) and np.isfinite(Llo[r]).all() and np.isfinite(Lhi[r]).all()):
            continue
        lower, upper = frac(dlo[r]), frac(dhi[r])
        low = high = Fraction(d[r])
        for j in range(Llo.shape[1]):
            xj = frac(x[j])
            p, q = frac(Llo[r, j]) * xj, frac(Lhi[r, j]) * xj
            lower += min(p, q)
            upper += max(p, q)
            terms = [Fraction(lam[r, j]) * frac(y) for y in ys[j]]
            low += min(terms)
            high += max(terms)
        decided += 1
        failing += not (lower <= low and high <= upper)
    return decided, failing


@pytest.mark.parametrize("dtype", DTYPES)
def test_deployed_backward_contains_onnxruntime_and_pytorch(rng, tmp_path, dtype):
    c, hw = 4, (3, 3)
    shape = (1, c) + hw
    n = c * hw[0] * hw[1]
    g, b, m, v = typical_layer(rng, dtype, c)
    e = 1e-5
    path = str(tmp_path / "bn.onnx")
    onnx_model(path, (g, b, m, v), e, dtype, shape)
    bn = bnbound.load_onnx(path)["bn"]
    enc = bn.enclose()
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    k = 3
    lam = rng.integers(-16, 17, (k, n)) / 8.0  # exact dyadics
    d = rng.integers(-8, 9, k) / 4.0
    L = lam.astype(dtype)
    dd = d.astype(dtype)
    totals = {"ort": [0, 0], "torch": [0, 0], "real_missed": 0}
    for trial in range(6):
        centre = rng.uniform(-3, 3, shape).astype(dtype)
        radius = dtype(0.0 if trial == 0 else rng.uniform(0.01, 1.0))
        xlo, xhi = (centre - radius).astype(dtype), (centre + radius).astype(dtype)
        for rt in ("onnxruntime-cpu", "pytorch-cpu"):
            Llo, Lhi, dlo, dhi = enc.backward(L, L, dd, dd, shape=[c, *hw], semantics="deployed",
                                              runtime=rt, x_lo=xlo.reshape(-1), x_hi=xhi.reshape(-1))
            rLlo, rLhi, rdlo, rdhi = enc.backward(L, L, dd, dd, shape=[c, *hw])
            points = [xlo, xhi, ((xlo + xhi) / 2).astype(dtype)]
            points += [rng.uniform(xlo, xhi).astype(dtype) for _ in range(3)]
            for x in points:
                x = np.clip(x, xlo, xhi).astype(dtype)
                flat = x.reshape(-1)
                if rt == "onnxruntime-cpu":
                    y = sess.run(None, {"x": x})[0].reshape(-1)
                    ys = [[y[j]] for j in range(n)]
                else:
                    ys = []
                    with np.errstate(all="ignore"):
                        for j in range(n):
                            ch = j // (hw[0] * hw[1])
                            # ONNX stores ε as a float attribute: the layer's ε is f32's 1e-5.
                            eps = dtype(np.float32(e))
                            ys.append(pytorch_outputs(g[ch], b[ch], m[ch], v[ch], eps, flat[j], dtype))
                dec, fail = form_contains(Llo, Lhi, dlo, dhi, flat, lam, d, ys)
                assert fail == 0, (rt, trial)
                key = "ort" if rt == "onnxruntime-cpu" else "torch"
                totals[key][0] += dec
                _, missed = form_contains(rLlo, rLhi, rdlo, rdhi, flat, lam, d, ys)
                totals["real_missed"] += missed
    assert totals["ort"][0] > 0 and totals["torch"][0] > 0
    print(f"{np.dtype(dtype).name}: {totals}")


def test_deployed_compose_contains_pytorch(rng):
    dtype = np.float32
    c = 5
    g, b, m, v = typical_layer(rng, dtype, c)
    e = dtype(1e-5)
    enc = bnbound.BatchNorm(g, b, m, v, e).enclose()
    eye = np.eye(c, dtype=dtype)
    zero = np.zeros(c, dtype=dtype)
    x = rng.uniform(-2, 2, c).astype(dtype)
    xlo, xhi = (x - dtype(0.5)).astype(dtype), (x + dtype(0.5)).astype(dtype)
    Alo, Ahi, clo, chi = enc.compose(eye, eye, zero, zero, semantics="deployed", runtime="pytorch-cpu",
                                     x_lo=xlo, x_hi=xhi)
    with np.errstate(all="ignore"):
        for p in (xlo, xhi, x):
            ys = [pytorch_outputs(g[j], b[j], m[j], v[j], e, p[j], dtype) for j in range(c)]
            dec, fail = form_contains(Alo, Ahi, clo, chi, p, np.eye(c), np.zeros(c), ys)
            assert dec == c and fail == 0


def test_deployed_forms_need_the_box():
    bn = bnbound.BatchNorm(np.array([1.0], np.float32), np.zeros(1, np.float32), np.zeros(1, np.float32),
                           np.ones(1, np.float32), np.float32(0))
    enc = bn.enclose()
    one = np.ones((1, 1), np.float32)
    z = np.zeros(1, np.float32)
    with pytest.raises(bnbound.Error, match="input box"):
        enc.backward(one, one, z, z, semantics="deployed", runtime="onnxruntime-cpu")
    # any: a form (the model's image minus the real image per element), no refusal.
    L_lo, L_hi, d_lo, d_hi = enc.backward(one, one, z, z, semantics="deployed", runtime="any",
                                          x_lo=z, x_hi=z + 1)
    assert d_lo[0] <= 0 <= d_hi[0]
    with pytest.raises(bnbound.Error, match="go together"):
        enc.backward(one, one, z, z, semantics="deployed", runtime="onnxruntime-cpu", x_lo=z)
