"""IBP and derivative bounds against the exact oracle (fractions): random layers of both
dtypes and every rank, biased to cancellation, zero/negative/tiny γ, var = 0, unbounded
endpoints and subnormals; the named hard cases of the Rust suite."""

import numpy as np
import pytest

import bnbound
from conftest import DTYPES, cancelling_box, random_layer
from oracle import Channel, channels_of, check_box

SHAPES = {1: lambda c: (c,), 2: lambda c: (3, c), 3: lambda c: (2, c, 3),
          4: lambda c: (1, c, 2, 3), 5: lambda c: (1, c, 2, 1, 2)}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rank", [1, 2, 3, 4, 5])
def test_ibp_encloses_the_exact_image(rng, dtype, rank):
    for _ in range(150):
        c = int(rng.integers(1, 6))
        params = random_layer(rng, dtype, c)
        bn = bnbound.BatchNorm(*params)
        assert bn.dtype == dtype
        shape = SHAPES[rank](c)
        lo, hi = cancelling_box(rng, dtype, shape, *params, ch_axis=0 if rank == 1 else 1)
        ylo, yhi = bn.enclose().ibp(lo, hi)
        assert ylo.dtype == dtype and ylo.shape == shape and yhi.shape == shape
        bad = check_box(channels_of(*params), lo, hi, ylo, yhi)
        assert not bad, (bad[:5], params)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", [1, 2])
def test_derivative_encloses_s_times_d(rng, dtype, order):
    for _ in range(150):
        c = int(rng.integers(1, 6))
        params = random_layer(rng, dtype, c)
        bn = bnbound.BatchNorm(*params)
        lo, hi = cancelling_box(rng, dtype, (2, c, 3), *params, ch_axis=1)
        dlo, dhi = bn.enclose().derivative(lo, hi, order=order)
        bad = check_box(channels_of(*params), lo, hi, dlo, dhi, offset=False)
        assert not bad, (bad[:5], params)


def test_f32_cancellation_anchor():
    # s = 1 + 2⁻²³, β = −3, x = 3: the exact output is 3·2⁻²³; naive f32 gives 2⁻²¹.
    g = np.float32(1) + np.finfo(np.float32).eps
    bn = bnbound.BatchNorm(np.array([g]), np.float32([-3]), np.float32([0]), np.float32([1]),
                           np.float32(0))
    x = np.float32([3])
    naive = np.float32(3) * g - np.float32(3)
    ch = Channel(g, -3, 0, 1, 0)
    assert not ch.lower_ok(naive, 3, 3)  # the naive float result is unsound
    ylo, yhi = bn.enclose().ibp(x, x)
    assert ch.lower_ok(ylo[0], 3, 3) and ch.upper_ok(yhi[0], 3, 3)
    assert ylo[0] < naive


def test_zero_gamma_with_unbounded_input_is_beta():
    bn = bnbound.BatchNorm([0.0], [1.5], [0.0], [1.0], 0.0)
    ylo, yhi = bn.enclose().ibp([-np.inf], [np.inf])
    assert (ylo[0], yhi[0]) == (1.5, 1.5)


def test_var_zero_and_subnormal_eps():
    tiny = np.finfo(np.float64).smallest_subnormal
    bn = bnbound.BatchNorm([1.0], [0.0], [0.0], [0.0], np.float64(tiny))
    # s = 1/√(2⁻¹⁰⁷⁴) = 2⁵³⁷: finite and exact.
    ylo, yhi = bn.enclose().ibp([1.0], [1.0])
    assert ylo[0] <= 2.0**537 <= yhi[0]
    assert not check_box([Channel(1, 0, 0, 0, tiny)], np.array([1.0]), np.array([1.0]), ylo, yhi)


def test_overflow_gives_an_infinite_bound():
    big = np.finfo(np.float32).max
    bn = bnbound.BatchNorm(np.float32([4]), np.float32([0]), np.float32([0]), np.float32([1]),
                           np.float32(0))
    ylo, yhi = bn.enclose().ibp(np.float32([big]), np.float32([big]))
    assert np.isinf(yhi[0]) and yhi[0] > 0
    assert not check_box([Channel(4, 0, 0, 1, 0)], np.float32([big]), np.float32([big]), ylo, yhi)


def test_negative_and_tiny_scale():
    sub = np.finfo(np.float32).smallest_subnormal
    g = np.float32([-2.5, sub, -sub])
    params = (g, np.float32([1, -1, 0]), np.float32([0.5, 0, 3]), np.float32([2, 1, 0.25]),
              np.float32(1e-5))
    bn = bnbound.BatchNorm(*params)
    lo = np.float32([[-1, -3, 1e30]])
    hi = np.float32([[2, 3, np.inf]])
    ylo, yhi = bn.enclose().ibp(lo, hi)
    assert not check_box(channels_of(*params), lo, hi, ylo, yhi)


def test_scale_and_offset_enclose_s_and_o(rng):
    for dtype in DTYPES:
        params = random_layer(rng, dtype, 16)
        enc = bnbound.BatchNorm(*params).enclose()
        (slo, shi), (olo, ohi) = enc.scale, enc.offset
        assert slo.dtype == np.float64 and slo.shape == (16,)
        for c, ch in enumerate(channels_of(*params)):
            # s = γ/√q: the derivative oracle at d = 1; o = y(0).
            assert ch.lower_ok(slo[c], 1, 1, offset=False) and ch.upper_ok(shi[c], 1, 1, offset=False)
            assert ch.lower_ok(olo[c], 0, 0) and ch.upper_ok(ohi[c], 0, 0)


def test_large_arrays_take_the_parallel_path(rng):
    # 2·64·32·32 = 131,072 elements: above the threshold where rayon's threads are used.
    params = random_layer(rng, np.float32, 64)
    bn = bnbound.BatchNorm(*params)
    lo = rng.normal(size=(2, 64, 32, 32)).astype(np.float32)
    hi = lo + np.float32(0.01)
    ylo, yhi = bn.enclose().ibp(lo, hi)
    # Same as small calls, row by row (the sequential path).
    for n in range(2):
        a, b = bn.enclose().ibp(lo[n:n + 1, :, :1], hi[n:n + 1, :, :1])
        assert np.array_equal(a, ylo[n:n + 1, :, :1]) and np.array_equal(b, yhi[n:n + 1, :, :1])
    chs = channels_of(*params)
    idx = rng.integers(0, lo.size, 3000)
    for i in idx:
        n, c, h, w = np.unravel_index(i, lo.shape)
        assert chs[c].lower_ok(ylo[n, c, h, w], lo[n, c, h, w], hi[n, c, h, w])
        assert chs[c].upper_ok(yhi[n, c, h, w], lo[n, c, h, w], hi[n, c, h, w])
