"""The exact checker from Python, and the evidence: auto_LiRPA's IBP for BatchNorm
(`BoundBatchNormalization.interval_propagate`: s and o in float32, center = s·mid + o,
deviation = |s|·rad), written in numpy here, is unsound on the demo-like layer; bnbound's
bounds are sound. Both verdicts come from the fractions oracle, and the library's exact
checker agrees with it bound for bound."""

import math

import numpy as np
import pytest

import bnbound
from conftest import DTYPES, random_layer, cancelling_box
from oracle import Channel, channels_of, check_box

F32 = np.float32


class SplitMix:
    """The demo's generator (cli/src/demo.rs), so the layer is the demo's."""

    def __init__(self, seed):
        self.s = seed

    def next(self):
        m = (1 << 64) - 1
        self.s = (self.s + 0x9E3779B97F4A7C15) & m
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
        return z ^ (z >> 31)

    def uniform(self):
        return (self.next() >> 11) / float(1 << 53)

    def normal(self):
        return (sum(self.uniform() for _ in range(4)) - 2.0) * math.sqrt(3.0)


def demo_layer():
    r = SplitMix(2015)
    c = 64
    gamma = np.array([F32(1.0 + 0.25 * r.normal()) for _ in range(c)], F32)
    gamma[7], gamma[21] = F32(-0.37), F32(0.0)
    beta = np.array([F32(0.1 * r.normal()) for _ in range(c)], F32)
    mean = np.array([F32(0.5 * r.normal()) for _ in range(c)], F32)
    var = np.array([F32(0.05 + r.uniform() * r.uniform() * 2.0) for _ in range(c)], F32)
    return gamma, beta, mean, var, F32(1e-5)


def demo_box():
    r = SplitMix(2021)
    center = np.array([F32(2.0 * r.normal()) for _ in range(64 * 16 * 16)], F32)
    eps = F32(2.0) / F32(255.0)
    return (center - eps).reshape(1, 64, 16, 16), (center + eps).reshape(1, 64, 16, 16)


def naive_ibp(gamma, beta, mean, var, eps, lo, hi):
    """auto_LiRPA's interval_propagate for BatchNorm, in float32 as torch computes it."""
    shape = (1, -1) + (1,) * (lo.ndim - 2)
    w = gamma / np.sqrt(var + eps)
    b = beta - mean * w
    mid, diff = (hi + lo) / F32(2), (hi - lo) / F32(2)
    center = w.reshape(shape) * mid + b.reshape(shape)
    dev = np.abs(w).reshape(shape) * diff
    return center - dev, center + dev


def test_naive_float_ibp_is_unsound_and_bnbound_is_sound():
    params = demo_layer()
    lo, hi = demo_box()
    nlo, nhi = naive_ibp(*params, lo, hi)
    chs = channels_of(*params)
    bad_naive = check_box(chs, lo, hi, nlo, nhi)
    bn = bnbound.BatchNorm(*params)
    ylo, yhi = bn.enclose().ibp(lo, hi)
    assert check_box(chs, lo, hi, ylo, yhi) == []
    print(f"naive float IBP: {len(bad_naive)} of {2 * lo.size} bounds unsound; bnbound: 0")
    assert len(bad_naive) > 1000
    # The library's exact checker finds exactly the same unsound bounds.
    r = bnbound.check_ibp(bn, lo, hi, nlo, nhi, keep=len(bad_naive) + 1)
    assert not r.sound and r.unsound == len(bad_naive) and r.checked == lo.size
    assert [(v.index, v.side) for v in r.violations] == bad_naive
    assert all(v.excess > 0 and v.source == "real" for v in r.violations)
    assert bnbound.check_ibp(bn, lo, hi, ylo, yhi).sound


@pytest.mark.parametrize("dtype", DTYPES)
def test_checker_agrees_with_the_oracle_on_random_claims(rng, dtype):
    for _ in range(60):
        c = int(rng.integers(1, 5))
        params = random_layer(rng, dtype, c)
        bn = bnbound.BatchNorm(*params)
        lo, hi = cancelling_box(rng, dtype, (2, c), *params, ch_axis=1)
        ylo, yhi = bn.enclose().ibp(lo, hi)
        # Claims: bnbound's bounds moved inward by 0–2 ulps at random.
        steps = rng.integers(0, 3, size=lo.shape)
        clo, chi = ylo.copy(), yhi.copy()
        for _ in range(2):
            m = steps > 0
            with np.errstate(over="ignore"):  # −∞ stepped inward is −MAX
                clo[m] = np.nextafter(clo[m], dtype(np.inf))
                chi[m] = np.nextafter(chi[m], dtype(-np.inf))
            steps -= 1
        clo = np.minimum(clo, chi)
        want = check_box(channels_of(*params), lo, hi, clo, chi)
        r = bnbound.check_ibp(bn, lo, hi, clo, chi, keep=100)
        assert [(v.index, v.side) for v in r.violations] == want
        assert r.sound == (want == [])


def test_check_derivative_and_forms():
    # o_0 = 0.5 − 2/√3 is irrational: back-substituted biases are not floats.
    bn = bnbound.BatchNorm([2.0, -1.0], [0.5, 0.0], [1.0, 1.0], [3.0, 1.0], 0.0)
    enc = bn.enclose()
    d = np.array([[1.0, 2.0]])
    dl, dh = enc.derivative(d, d)
    assert bnbound.check_derivative(bn, d, d, dl, dh).sound
    naive = np.array([[2.0 / np.sqrt(3.0), -2.0]])
    r = bnbound.check_derivative(bn, d, d, naive, naive)
    assert r.checked == 2 and not r.sound  # 2/√3 rounded is on one side of the truth
    A = np.array([[1.0], [1.0]])
    c = np.zeros(2)
    form = (A, A, c, c)
    assert bnbound.check_compose(bn, form, enc.compose(*form)).sound
    L = np.array([[1.0, 1.0]])
    z = np.zeros(1)
    assert bnbound.check_backward(bn, (L, L, z, z), enc.backward(L, L, z, z)).sound
    wrong = enc.backward(L, L, z, z)
    assert wrong[2][0] < wrong[3][0]
    wrong = (wrong[0], wrong[1], wrong[3], wrong[3])  # d_lo := d_hi: unsound below
    r = bnbound.check_backward(bn, (L, L, z, z), wrong)
    assert not r.sound and r.violations[0].side == "lo" and r.violations[0].index == 2


def test_deployed_check_names_the_runtime():
    # The cancellation anchor: the runtime's float output 2⁻²¹ is outside the real image
    # 3·2⁻²³; a claim equal to the real tight bound is unsound under deployed semantics.
    g = F32(1) + np.finfo(F32).eps
    bn = bnbound.BatchNorm(np.array([g]), F32([-3]), F32([0]), F32([1]), F32(0))
    x = F32([3])
    exact = F32(3 * 2.0**-23)
    assert Channel(g, -3, 0, 1, 0).lower_ok(exact, 3, 3)
    r = bnbound.check_ibp(bn, x, x, np.array([exact]), np.array([exact]),
                          semantics="deployed", runtime="pytorch-cpu")
    assert not r.sound
    assert any(v.source == "pytorch-cpu" and v.side == "hi" for v in r.violations)
