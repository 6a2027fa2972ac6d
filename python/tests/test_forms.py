"""Forward composition and back-substitution of affine forms against the oracle:
fractions for the scaled coefficients and the composed constant, decimal intervals with
directed rounding (escalating precision) for back-substituted biases Σ L_ij·o_j."""

import numpy as np
import pytest

import bnbound
from conftest import DTYPES, random_layer
from oracle import channels_of, frac, offset_sum_bound_ok


def interval_matrix(rng, dtype, shape):
    a = rng.normal(size=shape).astype(dtype)
    b = (a + np.abs(rng.normal(size=shape)).astype(dtype) * (rng.random(shape) < 0.5)).astype(dtype)
    return a, np.maximum(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sample", [None, (3,), (3, 2), (3, 2, 2), (3, 1, 2, 2)])
def test_compose_encloses_diag_s_a_and_s_c_plus_o(rng, dtype, sample):
    for _ in range(25):
        c = 3 if sample else int(rng.integers(1, 6))
        params = random_layer(rng, dtype, c)
        chs = channels_of(*params)
        inner = int(np.prod(sample[1:])) if sample else 1
        rows, cols = c * inner, int(rng.integers(1, 4))
        alo, ahi = interval_matrix(rng, dtype, (rows, cols))
        clo, chi = interval_matrix(rng, dtype, (rows,))
        enc = bnbound.BatchNorm(*params).enclose()
        A_lo, A_hi, c_lo, c_hi = enc.compose(alo, ahi, clo, chi, shape=list(sample) if sample else None)
        assert A_lo.shape == (rows, cols) and c_lo.shape == (rows,) and A_lo.dtype == dtype
        for i in range(rows):
            ch = chs[i // inner]
            for j in range(cols):
                assert ch.lower_ok(A_lo[i, j], alo[i, j], ahi[i, j], offset=False)
                assert ch.upper_ok(A_hi[i, j], alo[i, j], ahi[i, j], offset=False)
            assert ch.lower_ok(c_lo[i], clo[i], chi[i]) and ch.upper_ok(c_hi[i], clo[i], chi[i])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sample", [None, (3, 2), (3, 2, 2)])
def test_backward_encloses_l_diag_s_and_d_plus_l_o(rng, dtype, sample):
    for _ in range(12):
        c = 3 if sample else int(rng.integers(1, 6))
        params = random_layer(rng, dtype, c)
        # Keep |o| moderate so that Σ L·o stays finite for the decimal oracle.
        params = (params[0], params[1], params[2], params[3] + dtype(0.5), params[4])
        chs = channels_of(*params)
        inner = int(np.prod(sample[1:])) if sample else 1
        rows, cols = int(rng.integers(1, 4)), c * inner
        llo = rng.normal(size=(rows, cols)).astype(dtype)
        lhi = llo.copy()  # point rows: CROWN's Λ
        dlo = rng.normal(size=rows).astype(dtype)
        dhi = dlo.copy()
        enc = bnbound.BatchNorm(*params).enclose()
        L_lo, L_hi, d_lo, d_hi = enc.backward(llo, lhi, dlo, dhi, shape=list(sample) if sample else None)
        assert L_lo.shape == (rows, cols) and d_lo.shape == (rows,)
        for i in range(rows):
            for j in range(cols):
                ch = chs[j // inner]
                assert ch.lower_ok(L_lo[i, j], llo[i, j], llo[i, j], offset=False)
                assert ch.upper_ok(L_hi[i, j], llo[i, j], llo[i, j], offset=False)
            terms = [(frac(llo[i, j]), chs[j // inner]) for j in range(cols)]
            if np.isfinite(d_lo[i]):
                assert offset_sum_bound_ok(terms, frac(dlo[i]), d_lo[i], lower=True), i
            if np.isfinite(d_hi[i]):
                assert offset_sum_bound_ok(terms, frac(dlo[i]), d_hi[i], lower=False), i


def test_backward_bias_oracle_rejects_a_one_ulp_inward_bias():
    # o = −μ/√3 irrational: the bound bnbound returns is sound, one ulp inward past the
    # exact value is not (and the oracle says so).
    params = ([1.0, 2.0], [0.0, 0.5], [1.0, -1.0], [3.0, 5.0], 0.0)
    enc = bnbound.BatchNorm(*params).enclose()
    L = np.array([[1.0, -1.0]])
    d = np.array([0.0])
    _, _, d_lo, d_hi = enc.backward(L, L, d, d)
    terms = [(frac(1.0), channels_of(*params)[0]), (frac(-1.0), channels_of(*params)[1])]
    assert offset_sum_bound_ok(terms, 0, d_lo[0], True)
    assert offset_sum_bound_ok(terms, 0, d_hi[0], False)
    # Walk inward until past the exact value: the oracle must reject it.
    x = d_lo[0]
    while offset_sum_bound_ok(terms, 0, x, True):
        x = np.nextafter(x, np.inf)
    assert x <= d_hi[0]
