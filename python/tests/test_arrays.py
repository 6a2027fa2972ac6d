"""Array handling: out= identity, strided and Fortran-order views read correctly, lists
converted exactly, other float dtypes refused, inputs never modified."""

import numpy as np
import pytest

import bnbound
from conftest import DTYPES


def layer(dtype, c=4):
    return bnbound.BatchNorm(np.arange(1, c + 1, dtype=dtype) * dtype(-0.75),
                             np.linspace(-1, 1, c).astype(dtype),
                             np.linspace(0.5, -0.5, c).astype(dtype),
                             np.linspace(0.1, 2, c).astype(dtype), 1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_out_arrays_are_written_and_returned(dtype):
    enc = layer(dtype).enclose()
    lo = np.linspace(-2, 1, 24, dtype=dtype).reshape(2, 4, 3)
    hi = lo + dtype(0.5)
    ylo, yhi = enc.ibp(lo, hi)
    olo, ohi = np.empty_like(lo), np.empty_like(hi)
    r = enc.ibp(lo, hi, out=(olo, ohi))
    assert r[0] is olo and r[1] is ohi
    assert np.array_equal(olo, ylo) and np.array_equal(ohi, yhi)
    r = enc.derivative(lo, hi, out=(olo, ohi))
    assert r[0] is olo and np.array_equal(olo, enc.derivative(lo, hi)[0])
    r = enc.ibp(lo, hi, out=(olo, ohi), semantics="deployed", runtime="pytorch-cpu")
    assert r[1] is ohi and np.array_equal(ohi, enc.ibp(lo, hi, semantics="deployed", runtime="pytorch-cpu")[1])


@pytest.mark.parametrize("dtype", DTYPES)
def test_out_is_untouched_on_error(dtype):
    enc = layer(dtype).enclose()
    lo = np.zeros((2, 4), dtype)
    hi = np.ones((2, 4), dtype)
    hi[1, 3] = -1  # lo > hi at the last element
    olo, ohi = np.full_like(lo, 7), np.full_like(hi, 7)
    with pytest.raises(bnbound.Error, match="lo > hi|hi"):
        enc.ibp(lo, hi, out=(olo, ohi))
    assert (olo == 7).all() and (ohi == 7).all()
    with pytest.raises(bnbound.Error):
        enc.ibp(lo, np.full((2, 4), np.nan, dtype), out=(olo, ohi))
    assert (olo == 7).all() and (ohi == 7).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_bad_out_arrays(dtype):
    enc = layer(dtype).enclose()
    lo = np.zeros((2, 4), dtype)
    hi = np.ones((2, 4), dtype)
    other = np.float64 if dtype == np.float32 else np.float32
    ro = np.zeros((2, 4), dtype)
    ro.flags.writeable = False
    cases = [
        (np.zeros((2, 4), other), np.zeros((2, 4), dtype)),  # wrong dtype
        (np.zeros((4, 2), dtype), np.zeros((2, 4), dtype)),  # wrong shape
        (np.zeros((4, 2), dtype).T, np.zeros((2, 4), dtype)),  # not C-contiguous
        (ro, np.zeros((2, 4), dtype)),  # read-only
        (lo, np.zeros((2, 4), dtype)),  # the input itself
    ]
    for olo, ohi in cases:
        with pytest.raises(bnbound.Error):
            enc.ibp(lo, hi, out=(olo, ohi))
    same = np.zeros((2, 4), dtype)
    with pytest.raises(bnbound.Error):
        enc.ibp(lo, hi, out=(same, same))
    with pytest.raises(bnbound.Error):
        enc.ibp(lo, hi, out=np.zeros((2, 4), dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_strided_views_are_read_in_logical_order(dtype):
    enc = layer(dtype).enclose()
    base = np.linspace(-3, 3, 2 * 4 * 6 * 5, dtype=dtype).reshape(2, 4, 6, 5)
    views = [
        base[:, :, ::2, 1:4],  # strided
        base[:, :, ::-1, :],  # negative steps
        np.asfortranarray(base),  # Fortran order: contiguous, but not C order
        base.transpose(0, 1, 3, 2),
        np.broadcast_to(base[:1], (3, 4, 6, 5)),  # zero strides, read-only
    ]
    for v in views:
        c = np.ascontiguousarray(v)
        got = enc.ibp(v, v + dtype(0))  # v + 0 is a new C-contiguous array
        ref = enc.ibp(c, c)
        assert np.array_equal(got[0], ref[0]) and np.array_equal(got[1], ref[1])
        got = enc.ibp(v, v)
        assert np.array_equal(got[0], ref[0]) and np.array_equal(got[1], ref[1])
        assert got[0].flags.c_contiguous


def test_lists_convert_exactly_and_refuse_rounding():
    enc32 = layer(np.float32).enclose()
    a, b = enc32.ibp([[0.5, 1, -2, 0]], [[0.75, 1, 3, 0.25]])
    assert a.dtype == np.float32
    ref = enc32.ibp(np.float32([[0.5, 1, -2, 0]]), np.float32([[0.75, 1, 3, 0.25]]))
    assert np.array_equal(a, ref[0]) and np.array_equal(b, ref[1])
    with pytest.raises(bnbound.Error, match=r"lo\[0, 1\] = 0.1 is not a float32 value"):
        enc32.ibp([[0.5, 0.1, 0, 0]], [[1, 1, 1, 1]])
    with pytest.raises(bnbound.Error, match="float32"):
        enc32.ibp([[1e39, 0, 0, 0]], [[np.inf, 1, 1, 1]])  # overflows in float32
    # Integer arrays: exact values only.
    a, _ = enc32.ibp(np.array([[1, 2, 3, 4]]), np.array([[1, 2, 3, 4]]))
    assert a.dtype == np.float32
    with pytest.raises(bnbound.Error, match="not a float32 value"):
        enc32.ibp(np.array([[2**24 + 1, 0, 0, 0]]), np.array([[2**25, 1, 1, 1]]))
    with pytest.raises(bnbound.Error, match="expected numbers"):
        enc32.ibp([["a", "b", "c", "d"]], [[1, 1, 1, 1]])
    with pytest.raises(bnbound.Error, match="expected numbers"):
        enc32.ibp(np.array([[True, False, True, True]]), [[1, 1, 1, 1]])
    with pytest.raises(bnbound.Error, match="not an array of numbers"):
        enc32.ibp([[1, 2], [3]], [[1, 2], [3]])


@pytest.mark.parametrize("dtype", DTYPES)
def test_other_float_dtypes_are_refused(dtype):
    enc = layer(dtype).enclose()
    for other in (np.float16, np.float32, np.float64, np.longdouble):
        if other == dtype:
            continue
        x = np.zeros((1, 4), other)
        with pytest.raises(bnbound.Error, match=f"expected a {np.dtype(dtype).name} array, got"):
            enc.ibp(x, x)


def test_inputs_are_never_modified(rng):
    # Inputs are copied (a snapshot, see test_race.py) and never written.
    enc = layer(np.float64).enclose()
    lo = rng.normal(size=(64, 4))
    assert lo.flags.c_contiguous
    before = lo.copy()
    enc.ibp(lo, lo)
    assert np.array_equal(lo, before)


def test_rank_one_uses_axis_zero_and_rank_checks():
    enc = layer(np.float64).enclose()
    a, b = enc.ibp(np.zeros(4), np.ones(4))
    assert a.shape == (4,)
    with pytest.raises(bnbound.Error, match="rank|dims|shape"):
        enc.ibp(np.zeros((1, 4, 1, 1, 1, 1)), np.zeros((1, 4, 1, 1, 1, 1)))
    with pytest.raises(bnbound.Error):
        enc.ibp(np.float64(0), np.float64(1))  # rank 0
    with pytest.raises(bnbound.Error, match="channel"):
        enc.ibp(np.zeros((1, 3)), np.zeros((1, 3)))
    z = enc.ibp(np.zeros((0, 4)), np.zeros((0, 4)))
    assert z[0].shape == (0, 4)


def test_concurrent_calls_from_threads_agree(rng):
    # The GIL is released during the work: calls from several threads on shared inputs
    # (read-only borrows) give the same results as one call.
    import threading
    enc = layer(np.float32).enclose()
    lo = rng.normal(size=(4, 4, 64, 64)).astype(np.float32)
    hi = lo + np.float32(0.5)
    ref = enc.ibp(lo, hi)
    results = [None] * 6

    def work(k):
        results[k] = enc.ibp(lo, hi)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        assert np.array_equal(r[0], ref[0]) and np.array_equal(r[1], ref[1])


def test_keyword_names_follow_the_documented_api():
    enc = layer(np.float64).enclose()
    A, c = np.ones((4, 1)), np.zeros(4)
    got = enc.compose(A_lo=A, A_hi=A, c_lo=c, c_hi=c, shape=[4])
    assert all(np.array_equal(g, r) for g, r in zip(got, enc.compose(A, A, c, c)))
    L, d = np.ones((1, 4)), np.zeros(1)
    got = enc.backward(L_lo=L, L_hi=L, d_lo=d, d_hi=d, shape=None)
    assert all(np.array_equal(g, r) for g, r in zip(got, enc.backward(L, L, d, d)))
    lo, hi = enc.ibp(lo=np.zeros(4), hi=np.ones(4))
    dl, dh = enc.derivative(dlo=np.zeros(4), dhi=np.ones(4), order=2)
    assert (lo <= hi).all() and (dl <= dh).all()
