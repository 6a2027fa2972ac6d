"""Enclosure.backward_batch (CROWN's back-substitution as auto_LiRPA calls it, without
torch): the float coefficients M and the lower/upper biases bound A·BN(x) for every x in
each batch element's box, decided by the oracle (decimal intervals, escalating precision)."""

import numpy as np
import pytest

import bnbound
from oracle import Channel, frac, offset_sum_bound_ok


def relaxation(enc, A, xl, xu, lower):
    """M reshaped to rows (spec·batch, C·H·W) and the side's bias per row."""
    M, lo, hi = enc.backward_batch(A, xl, xu)
    assert M.shape == A.shape and M.dtype == A.dtype
    assert lo.shape == hi.shape == A.shape[:2]
    rows = A.shape[0] * A.shape[1]
    return M.reshape(rows, -1), (lo if lower else hi).reshape(rows)


def test_backward_batch_bounds_a_times_bn(rng):
    f32 = np.float32
    c, h, w, spec, batch = 3, 2, 2, 2, 2
    g = f32([1.25, -0.7, 3.0])
    b = f32([0.1, -0.2, 0.05])
    m = f32([0.5, -1.0, 0.25])
    v = f32([0.3, 2.0, 0.01])
    e = f32(1e-5)
    enc = bnbound.BatchNorm(g, b, m, v, e).enclose()
    chs = [Channel(g[k], b[k], m[k], v[k], e) for k in range(c)]
    for _ in range(4):
        A = rng.normal(size=(spec, batch, c, h, w)).astype(f32)
        xl = rng.uniform(-2, 1, (batch, c, h, w)).astype(f32)
        xu = (xl + rng.uniform(0, 2, xl.shape)).astype(f32)
        for lower in (True, False):
            M, bias = relaxation(enc, A, xl, xu, lower)
            for _ in range(3):
                x = rng.uniform(xl, xu).astype(f32)
                for s in range(spec):
                    for n in range(batch):
                        row = s * batch + n
                        a, xs = A[s, n].reshape(-1), x[n].reshape(-1)
                        # A·BN(x) − (M·x + bias) ≥ 0 (lower) or ≤ 0 (upper), exactly:
                        # Σ a_j·(β + γ(x_j − μ)/√q) is the oracle's Σ w·o with μ := μ − x_j.
                        terms = []
                        for j in range(a.size):
                            ch = chs[j // (h * w)]
                            t = Channel(0, 0, 0, 1, 0)
                            t.g, t.b, t.q = ch.g, ch.b, ch.q
                            t.m = ch.m - frac(xs[j])
                            terms.append((frac(a[j]), t))
                        const = -sum(frac(M[row, j]) * frac(xs[j]) for j in range(a.size)) - frac(bias[row])
                        assert offset_sum_bound_ok(terms, const, 0.0, lower=lower), (lower, row)


def test_backward_batch_shapes_and_errors():
    f32 = np.float32
    enc = bnbound.BatchNorm(f32([1, 2]), f32([0, 0]), f32([0, 0]), f32([1, 1]), 0.0).enclose()
    # Unfolded patches: lam (out_c, batch, oh, ow, C, kh, kw) over boxes (batch, oh, ow, C, kh, kw).
    lam = np.ones((3, 2, 2, 2, 2, 3, 3), f32)
    x = np.zeros((2, 2, 2, 2, 3, 3), f32)
    M, lo, hi = enc.backward_batch(lam, x, x, [2, 3, 3], semantics="deployed", runtime="pytorch-cpu")
    assert M.shape == lam.shape and lo.shape == (3, 2, 2, 2)
    assert np.all(M[:, :, :, :, 1] == 2) and np.all(lo <= 0) and np.all(hi >= 0)
    with pytest.raises(bnbound.Error, match="does not end in"):
        enc.backward_batch(np.ones((3, 5), f32), x, x, [2, 3, 3])
    with pytest.raises(bnbound.Error, match="not finite"):
        bad = lam.copy()
        bad[0, 0, 0, 0, 0, 0, 0] = np.nan
        enc.backward_batch(bad, x, x, [2, 3, 3])
    with pytest.raises(bnbound.Error):
        enc.backward_batch(lam, x + 1, x, [2, 3, 3])  # lo > hi
    M, lo, hi = enc.backward_batch(lam, x, x, [2, 3, 3], semantics="deployed", runtime="any", ulps=1)
    assert np.all(lo <= 0) and np.all(hi >= 0)


def test_backward_batch_empty_batch_and_error_location():
    f32 = np.float32
    enc = bnbound.BatchNorm(f32([1, 0, 2]), f32([0, 0, 0]), f32([0, 0, 0]), f32([1, 1, 1]), 0.0).enclose()
    # A batch of no boxes: empty results of the right shapes.
    M, lo, hi = enc.backward_batch(np.zeros((4, 0, 3, 2), f32), np.zeros((0, 3, 2), f32), np.zeros((0, 3, 2), f32))
    assert M.shape == (4, 0, 3, 2) and lo.shape == hi.shape == (4, 0)
    # γ = 0 times an infinite input: PyTorch computes NaN there; the error names the box
    # element in x_lo's coordinates.
    xl = np.zeros((2, 3, 2), f32)
    xh = np.ones((2, 3, 2), f32)
    xl[1, 1, 0] = -np.inf
    with pytest.raises(bnbound.Error, match=r"\[1, 1, 0\]"):
        enc.backward_batch(np.ones((4, 2, 3, 2), f32), xl, xh, semantics="deployed", runtime="pytorch-cpu")
