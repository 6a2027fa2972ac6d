"""The arithmetic of the auto_LiRPA recipe in python/README.md, without torch: the point
relaxation built from bnbound's back-substitution (M_lo or M_hi as the matrix, a slack from
the input's lower bound, biases rounded outward to the tensor dtype) bounds A·BN(x) for
every x in the input box. Decided by the oracle (decimal intervals, escalating precision)."""

import math

import numpy as np

import bnbound
from oracle import Channel, frac, offset_sum_bound_ok


def relaxation(enc, A, xl, lower):
    """The recipe's side(): A of shape (spec, batch, C, H, W), xl of shape (batch, C, H, W)."""
    spec, batch = A.shape[:2]
    a = A.reshape(spec * batch, -1)
    z = np.zeros(a.shape[0], a.dtype)
    M_lo, M_hi, d_lo, d_hi = enc.backward(a, a, z, z, shape=list(xl.shape[1:]))
    width = M_hi.astype(np.float64) - M_lo.astype(np.float64)
    neg = np.minimum(xl.astype(np.float64), 0).reshape(1, batch, -1).repeat(spec, 0).reshape(spec * batch, -1)
    slack = np.array([math.fsum(r) for r in width * neg])
    to = np.dtype(a.dtype)
    if lower:
        bias = np.nextafter(d_lo + slack, -np.inf)
        b = bias.astype(to)
        b = np.where(b > bias, np.nextafter(b, to.type(-np.inf)), b)
        return M_lo, b
    bias = np.nextafter(d_hi - slack, np.inf)
    b = bias.astype(to)
    b = np.where(b < bias, np.nextafter(b, to.type(np.inf)), b)
    return M_hi, b


def test_recipe_relaxation_bounds_a_times_bn(rng):
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
            M, bias = relaxation(enc, A, xl, lower)
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
