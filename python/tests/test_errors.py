"""Every invalid input raises bnbound.Error (a ValueError) naming what is wrong; never a
Rust panic (pyo3's PanicException is a BaseException and would fail these tests), never a
TypeError from argument parsing, never a silent NaN."""

import numpy as np
import pytest

import bnbound

F32 = np.float32


def good(dtype=np.float64, c=2):
    return dict(gamma=np.ones(c, dtype), beta=np.zeros(c, dtype),
                running_mean=np.zeros(c, dtype), running_var=np.ones(c, dtype))


def make(**kw):
    p = good()
    eps = kw.pop("eps", 1e-5)
    p.update(kw)
    return bnbound.BatchNorm(p["gamma"], p["beta"], p["running_mean"], p["running_var"], eps)


def test_error_is_a_value_error():
    assert issubclass(bnbound.Error, ValueError)


@pytest.mark.parametrize("kw, message", [
    (dict(gamma=np.array([1.0, np.nan])), r"gamma\[1\] is NaN"),
    (dict(beta=np.array([np.inf, 0.0])), "beta"),
    (dict(running_mean=np.array([0.0, -np.inf])), "running_mean"),
    (dict(running_var=np.array([1.0, -1.0])), "running_var|negative"),
    (dict(running_var=np.array([0.0, 1.0]), eps=0.0), "var|eps"),
    (dict(eps=float("nan")), "eps"),
    (dict(eps=-2.0), "eps|var"),
    (dict(gamma=np.ones(3)), "length|beta|3"),
    (dict(gamma=np.zeros(0), beta=np.zeros(0), running_mean=np.zeros(0), running_var=np.zeros(0)), "channel"),
    (dict(gamma=np.ones((2, 1))), "1-D"),
    (dict(gamma=np.ones(2, F32)), "gamma is float32 but beta is float64|float64 but"),
    (dict(gamma=np.ones(2, np.float16), beta=np.zeros(2, np.float16),
          running_mean=np.zeros(2, np.float16), running_var=np.ones(2, np.float16)), "float16"),
    (dict(eps="0.1"), "eps"),
    (dict(eps=True), "bool"),
    (dict(eps=np.float32(1e-5)), "numpy float32 scalar but the layer is float64"),
    (dict(eps=2**60 + 1), "eps"),
    (dict(gamma=[1.0, "x"]), "gamma"),
])
def test_bad_parameters(kw, message):
    with pytest.raises(bnbound.Error, match=message):
        make(**kw)


def test_eps_rounding_like_pytorch():
    bn = bnbound.BatchNorm(np.ones(1, F32), np.zeros(1, F32), np.zeros(1, F32), np.ones(1, F32), 1e-5)
    assert bn.eps == float(F32(1e-5))  # round to nearest, as (float)eps
    bn = bnbound.BatchNorm(np.ones(1, F32), np.zeros(1, F32), np.zeros(1, F32), np.ones(1, F32), F32(3e-5))
    assert bn.eps == float(F32(3e-5))
    with pytest.raises(bnbound.Error, match="becomes 0"):
        bnbound.BatchNorm(np.ones(1, F32), np.zeros(1, F32), np.zeros(1, F32), np.ones(1, F32), 1e-50)
    with pytest.raises(bnbound.Error, match="becomes"):
        bnbound.BatchNorm(np.ones(1, F32), np.zeros(1, F32), np.zeros(1, F32), np.ones(1, F32), 1e50)
    bn = bnbound.BatchNorm([1.0], [0.0], [0.0], [1.0], 1e-5, dtype="float32")
    assert bn.dtype == np.float32
    with pytest.raises(bnbound.Error, match="dtype"):
        bnbound.BatchNorm([1.0], [0.0], [0.0], [1.0], 1e-5, dtype="int8")
    with pytest.raises(bnbound.Error, match="dtype"):
        bnbound.BatchNorm([1.0], [0.0], [0.0], [1.0], 1e-5, dtype="no such dtype")


def test_bad_boxes_and_arguments():
    enc = make().enclose()
    z, o = np.zeros((1, 2)), np.ones((1, 2))
    cases = [
        (lambda: enc.ibp(o, z), "lo > hi|lo"),
        (lambda: enc.ibp(z, np.array([[1.0, np.nan]])), "NaN|nan"),
        (lambda: enc.ibp(z, np.ones((1, 3))), "shape"),
        (lambda: enc.ibp(np.zeros((1, 3)), np.ones((1, 3))), "channel"),
        (lambda: enc.ibp(z, o, semantics="float"), "semantics"),
        (lambda: enc.ibp(z, o, semantics="deployed"), "runtime"),
        (lambda: enc.ibp(z, o, runtime="pytorch-cpu"), "runtime"),
        (lambda: enc.ibp(z, o, semantics="deployed", runtime="cuda"), "cuda|runtime"),
        (lambda: enc.ibp(z, o, semantics="deployed", runtime="pytorch-cpu", ulps=2), "ulps"),
        (lambda: enc.ibp(z, o, semantics="deployed", runtime="any", ulps=-1), "ulps"),
        (lambda: enc.ibp(z, o, semantics="deployed", runtime="any", ulps=bnbound.MAX_ULPS + 1), "ulps"),
        (lambda: enc.ibp(z, o, semantics="deployed", runtime="any", ulps=2**70), "ulps"),
        (lambda: enc.ibp(z, o, semantics=3), "semantics"),
        (lambda: enc.derivative(z, o, order=3), "order"),
        (lambda: enc.derivative(z, o, order="1"), "order"),
        (lambda: enc.derivative(z, o, order=True), "order"),
        (lambda: make().enclose(mode="exact"), "mode"),
        (lambda: enc.compose(np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2)), "2-D"),
        (lambda: enc.compose(np.zeros((3, 1)), np.zeros((3, 1)), np.zeros(3), np.zeros(3)), "channel"),
        (lambda: enc.compose(np.zeros((2, 1)), np.zeros((2, 1)), np.zeros(3), np.zeros(3)), "c|shape"),
        (lambda: enc.compose(np.zeros((2, 1)), np.zeros((2, 1)), np.zeros(2), np.zeros(2), shape=[2, 3]), "shape|rows"),
        (lambda: enc.compose(np.zeros((2, 1)), np.zeros((2, 1)), np.zeros(2), np.zeros(2), shape="2"), "shape"),
        (lambda: enc.compose(np.zeros((2, 1)), np.zeros((2, 1)), np.zeros(2), np.zeros(2), shape=[-2]), "shape"),
        (lambda: enc.backward(np.zeros((1, 3)), np.zeros((1, 3)), np.zeros(1), np.zeros(1)), "channel|column"),
        (lambda: enc.backward(np.ones((1, 2)), np.zeros((1, 2)), np.zeros(1), np.zeros(1)), "lo > hi|lo"),
        (lambda: bnbound.check_ibp("bn", z, o, z, o), "BatchNorm"),
        (lambda: bnbound.check_ibp(make(), z, o, z, np.ones((1, 3))), "shape"),
        (lambda: bnbound.check_ibp(make(), z, o, z, o, keep=-1), "keep"),
        (lambda: bnbound.check_ibp(make(), z, o, z, o, semantics="deployed", runtime="any"), "any|decide"),
        (lambda: bnbound.check_compose(make(), (z, o), (z, o)), "four"),
        (lambda: bnbound.load_onnx(42), "path"),
        (lambda: bnbound.load_safetensors("x.safetensors", "bn", eps_dtype="f16"), "eps_dtype"),
        (lambda: bnbound.load_safetensors("x.safetensors", "bn", eps=1e-50), "becomes 0"),
    ]
    for f, message in cases:
        with pytest.raises(bnbound.Error, match=message):
            f()


def test_any_runtime_maximum_ulps_is_accepted():
    enc = make().enclose()
    z, o = np.zeros((1, 2)), np.ones((1, 2))
    a, b = enc.ibp(z, o, semantics="deployed", runtime="any", ulps=bnbound.MAX_ULPS)
    assert (a <= 0).all() and (b >= 1 / np.sqrt(1 + 1e-5)).all()


def test_deployed_nan_is_an_error_not_a_nan():
    # γ = 0 and x = ±∞: every runtime computes 0·∞ = NaN; bnbound refuses to bound it.
    bn = bnbound.BatchNorm([0.0], [1.0], [0.0], [1.0], 0.0)
    with pytest.raises(bnbound.Error, match="NaN"):
        bn.enclose().ibp([0.0], [np.inf], semantics="deployed", runtime="pytorch-cpu")
    a, b = bn.enclose().ibp([0.0], [np.inf])  # the real image is {β}
    assert (a[0], b[0]) == (1.0, 1.0)
