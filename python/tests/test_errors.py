"""Every invalid input raises bnbound.Error (a ValueError) naming what is wrong; never a
Rust panic (pyo3's PanicException is a BaseException and would fail these tests), never a
TypeError from argument parsing, never a silent NaN."""

import os

import numpy as np
import pytest

import bnbound
from conftest import DATA

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


def test_garbage_in_every_argument_raises_bnbound_error(rng):
    # Every public entry point, every argument replaced by odd objects: only bnbound.Error
    # may come out (a Rust panic would surface as pyo3's PanicException, a BaseException).
    odd = [None, "x", b"\x00", {}, [], [[1.0], [2.0, 3.0]], object(), 2**80, -1, 1.5,
           float("nan"), np.array(["a"]), np.array([1.0, None], dtype=object),
           np.zeros((2, 0)), np.zeros(()), np.ma.masked_array([1.0, 2.0], mask=[0, 1]),
           memoryview(b"abcd"), np.array([1 + 2j]), (np.zeros(2), np.zeros(2))]
    bn = bnbound.BatchNorm([1.0, 2.0], [0.0, 0.0], [0.0, 0.0], [1.0, 1.0], 1e-5)
    enc = bn.enclose()
    z, o = np.zeros((1, 2)), np.ones((1, 2))
    calls = [
        (lambda a: bnbound.BatchNorm(a, [0.0, 0.0], [0.0, 0.0], [1.0, 1.0], 1e-5)),
        (lambda a: bnbound.BatchNorm([1.0, 1.0], [0.0, 0.0], [0.0, 0.0], [1.0, 1.0], a)),
        (lambda a: bnbound.BatchNorm([1.0], [0.0], [0.0], [1.0], 1e-5, dtype=a)),
        (lambda a: bn.enclose(mode=a)),
        (lambda a: enc.ibp(a, o)),
        (lambda a: enc.ibp(z, a)),
        (lambda a: enc.ibp(z, o, out=a)),
        (lambda a: enc.ibp(z, o, semantics=a)),
        (lambda a: enc.ibp(z, o, semantics="deployed", runtime=a)),
        (lambda a: enc.ibp(z, o, semantics="deployed", runtime="any", ulps=a)),
        (lambda a: enc.derivative(a, o)),
        (lambda a: enc.derivative(z, o, order=a)),
        (lambda a: enc.compose(a, a, a, a)),
        (lambda a: enc.compose(np.zeros((2, 1)), np.zeros((2, 1)), np.zeros(2), np.zeros(2), shape=a)),
        (lambda a: enc.backward(a, np.zeros((1, 2)), np.zeros(1), np.zeros(1))),
        (lambda a: bnbound.check_ibp(a, z, o, z, o)),
        (lambda a: bnbound.check_ibp(bn, z, o, a, o)),
        (lambda a: bnbound.check_ibp(bn, z, o, z, o, keep=a)),
        (lambda a: bnbound.check_derivative(bn, a, o, z, o)),
        (lambda a: bnbound.check_compose(bn, a, a)),
        (lambda a: bnbound.check_backward(bn, (z, o, z, o), a)),
        (lambda a: bnbound.load_onnx(a)),
        (lambda a: bnbound.load_onnx("nope.onnx", layer=a)),
        (lambda a: bnbound.load_safetensors(a, "bn")),
        (lambda a: bnbound.load_safetensors("x.safetensors", a)),
        (lambda a: bnbound.load_safetensors("x.safetensors", "bn", eps=a)),
        (lambda a: bnbound.load_safetensors("x.safetensors", "bn", eps_dtype=a)),
        (lambda a: bnbound.inspect_onnx(a)),
        (lambda a: bnbound.inspect_safetensors(a)),
        (lambda a: bnbound.inspect_safetensors(os.path.join(DATA, "state.safetensors"), eps=a)),
    ]
    outcomes = 0
    for call in calls:
        for a in odd:
            try:
                call(a)
            except bnbound.Error:
                outcomes += 1
            except Exception as e:  # noqa: BLE001 - the point of the test
                raise AssertionError(f"{type(e).__name__}: {e} for argument {a!r}") from e
    assert outcomes > len(calls) * len(odd) // 2
