"""A model with one unusable layer, one rule for scalars, numpy indices
in every message, no internal text, the right message for huge ulps and for exact powers of
two, and a test extra that installs what the tests import."""

import ast
import importlib.util
import os
import re

import numpy as np
import pytest

import bnbound
from conftest import DATA, REPO

PY = os.path.join(REPO, "python")


def test_one_unusable_layer_is_named_and_inspect_gives_every_layer_its_own_result():
    # "other" takes its mean from a Relu node: a computed statistic has no constant value.
    path = os.path.join(DATA, "multi_computed_stats.onnx")
    with pytest.raises(bnbound.Error, match=r'layer "other": .*the model\'s layers: "good", "other".*inspect_onnx'):
        bnbound.load_onnx(path)
    info = bnbound.inspect_onnx(path)
    assert [i.name for i in info] == ["good", "other"]
    good, other = info
    assert good.error is None and isinstance(good.layer, bnbound.BatchNorm) and good.layer.channels == 2
    assert other.layer is None and "computed" in other.error
    assert bnbound.load_onnx(path, layer="good")["good"].channels == 2  # still loadable alone
    (bn1,) = bnbound.inspect_onnx(os.path.join(DATA, "conv_bn_relu_f32.onnx"))
    assert (bn1.name, bn1.producer, bn1.consumers) == ("bn1", "conv1", ["relu1"])
    st = bnbound.inspect_safetensors(os.path.join(DATA, "state.safetensors"))
    assert [i.name for i in st] == ["bhalf", "features.1", "half", "layer2.bn", "noaffine"]
    assert all(i.error is None for i in st) and st[0].layer.storage == "bf16"
    with pytest.raises(bnbound.Error):
        bnbound.inspect_onnx(os.path.join(DATA, "nope.onnx"))
    with pytest.raises(bnbound.Error, match="eps_dtype"):
        bnbound.inspect_safetensors(os.path.join(DATA, "state.safetensors"), eps_dtype="f16")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scalars_and_0d_arrays_follow_one_rule(dtype):
    ok = [np.ones(1, dtype)] * 4
    # Parameters are vectors: a Python number, a numpy scalar and a 0-d array are all refused.
    for s in (1.0, 1, dtype(1), np.array(1, dtype), np.float16(1)):
        with pytest.raises(bnbound.Error, match=r"gamma: expected a 1-D array \(one value per channel\), got a scalar"):
            bnbound.BatchNorm(s, *ok[1:], 1e-5)
    # ε: a numpy scalar and a 0-d array of the layer's dtype are the same value.
    a = bnbound.BatchNorm(*ok, dtype(2.0 ** -20))
    b = bnbound.BatchNorm(*ok, np.array(2.0 ** -20, dtype))
    assert a.eps == b.eps == 2.0 ** -20
    # Box endpoints: a numpy scalar is refused like its array, whatever its dtype.
    enc = bnbound.BatchNorm(*ok, 1e-5).enclose()
    other = np.float32 if dtype == np.float64 else np.float64
    with pytest.raises(bnbound.Error, match=f"lo: expected a {np.dtype(dtype).name} array, got {np.dtype(other).name}"):
        enc.ibp(other(0), other(1))
    for s in (dtype(0), np.array(0, dtype), 0.0):
        with pytest.raises(bnbound.Error, match="rank 0"):
            enc.ibp(s, s)


def test_element_messages_use_numpy_indices_and_the_callers_names():
    bn = bnbound.BatchNorm([1.0, 2.0], [0.0, 0.0], [0.0, 0.0], [1.0, 1.0], 1e-5)
    enc = bn.enclose()
    z = np.zeros((2, 2, 3))
    nan = z.copy()
    nan[1, 0, 2] = np.nan
    low = z.copy()
    low[1, 1, 0] = -1
    cases = [
        (lambda: enc.ibp(z, nan), r"hi\[1, 0, 2\] is NaN"),
        (lambda: enc.ibp(z, low), r"lo\[1, 1, 0\] = 0\.0 > hi\[1, 1, 0\] = -1\.0"),
        (lambda: enc.derivative(nan, z), r"dlo\[1, 0, 2\] is NaN"),
        (lambda: enc.ibp(z, low, out=(np.zeros_like(z), np.zeros_like(z))), r"lo\[1, 1, 0\]"),
        (lambda: bnbound.check_ibp(bn, z, z, z, nan), r"claimed_hi\[1, 0, 2\] is NaN"),
        (lambda: enc.compose(np.zeros((2, 2)), np.full((2, 2), -1.0), np.zeros(2), np.zeros(2)),
         r"A_lo\[0, 0\] = 0\.0 > A_hi\[0, 0\] = -1\.0"),
        (lambda: bnbound.BatchNorm(np.float32([1, 2]), np.float32([0, 0]), np.float32([0, 0]),
                                   np.float32([1, 1]), 1e-5).enclose().ibp([[0.0, 0.1]], [[1.0, 1.0]]),
         r"lo\[0, 1\] = 0\.1 is not a float32 value"),
    ]
    g0 = bnbound.BatchNorm([0.0, 1.0], [0.0, 0.0], [0.0, 0.0], [1.0, 1.0], 0.0).enclose()
    inf = np.zeros((1, 2, 2))
    inf[0, 0, 1] = np.inf
    cases.append((lambda: g0.ibp(np.zeros((1, 2, 2)), inf, semantics="deployed", runtime="pytorch-cpu"),
                  r"element \[0, 0, 1\] \(channel 0\)"))
    for f, message in cases:
        with pytest.raises(bnbound.Error, match=message):
            f()


def test_out_errors_say_what_is_wrong_without_internal_text():
    enc = bnbound.BatchNorm([1.0, 2.0], [0.0, 0.0], [0.0, 0.0], [1.0, 1.0], 1e-5).enclose()
    lo, hi = np.zeros((1, 2)), np.ones((1, 2))
    ro = np.zeros((1, 2))
    ro.flags.writeable = False
    same = np.zeros((1, 2))
    cases = [
        ((lo, np.zeros((1, 2))), r"out\[0\] shares memory with an input or with the other output"),
        ((np.zeros((1, 2)), hi), r"out\[1\] shares memory with an input"),
        ((same, same), r"out\[1\] shares memory with an input or with the other output"),
        ((ro, np.zeros((1, 2))), r"out\[0\] is read-only"),
    ]
    for out, message in cases:
        with pytest.raises(bnbound.Error, match=message) as e:
            enc.ibp(lo, hi, out=out)
        assert "borrow" not in str(e.value)


def test_huge_ulps_and_exact_powers_of_two_get_the_right_message():
    enc = bnbound.BatchNorm([1.0], [0.0], [0.0], [1.0], 1e-5).enclose()
    x = np.zeros(1)
    m = bnbound.MAX_ULPS
    for k in (m + 1, 2**32, 2**40, 2**70):
        with pytest.raises(bnbound.Error, match=rf"ulps = {k}: more than the {m} ulps"):
            enc.ibp(x, x, semantics="deployed", runtime="any", ulps=k)
    with pytest.raises(bnbound.Error, match="ulps: expected a non-negative integer, got 1.5"):
        enc.ibp(x, x, semantics="deployed", runtime="any", ulps=1.5)
    with pytest.raises(bnbound.Error, match=r"keep = 1180591620717411303424 is too large"):
        bnbound.check_ibp(bnbound.BatchNorm([1.0], [0.0], [0.0], [1.0], 1e-5), x, x, x, x, keep=2**70)
    one = [np.float32([1])] * 2 + [np.float32([0]), np.float32([1])]
    # Exact powers of two are floats however large; only float32's range limits them.
    for e in (2**60, 2**64, 2**127):
        assert bnbound.BatchNorm(*one, e).eps == float(e)
        assert bnbound.BatchNorm([1.0], [0.0], [0.0], [1.0], e).eps == float(e)
    with pytest.raises(bnbound.Error, match=r"eps = 3\.4028\d*e38 becomes inf in float32"):
        bnbound.BatchNorm(*one, 2**128)
    assert bnbound.BatchNorm([1.0], [0.0], [0.0], [1.0], 2**128).eps == 2.0**128
    with pytest.raises(bnbound.Error, match=r"eps = 9007199254740993 is not exactly a float"):
        bnbound.BatchNorm([1.0], [0.0], [0.0], [1.0], 2**53 + 1)
    with pytest.raises(bnbound.Error, match=r"eps = \d+ is too large for a float"):
        bnbound.BatchNorm([1.0], [0.0], [0.0], [1.0], 2**1024)
    # γ: a power of two beyond int64 is a float64 value, and not a float32 one past its range.
    assert bnbound.BatchNorm([2**64], [0.0], [0.0], [1.0], 1e-5).gamma[0] == 2.0**64
    assert bnbound.BatchNorm([2**127], [0.0], [0.0], [1.0], 1e-5, dtype=np.float32).gamma[0] == 2.0**127
    with pytest.raises(bnbound.Error, match=rf"gamma\[0\] = {2**128} is not a float32 value"):
        bnbound.BatchNorm([2**128], [0.0], [0.0], [1.0], 1e-5, dtype=np.float32)
    with pytest.raises(bnbound.Error, match=rf"gamma\[0\] = {2**1024} is not a float64 value"):
        bnbound.BatchNorm([2**1024], [0.0], [0.0], [1.0], 1e-5)
    with pytest.raises(bnbound.Error, match=rf"gamma\[1\] = {2**64 + 1} is not a float64 value"):
        bnbound.BatchNorm([1.0, 2**64 + 1], [0.0] * 2, [0.0] * 2, [1.0] * 2, 1e-5)


def third_party_imports():
    """Top-level modules the test files import that are neither stdlib nor local."""
    local = {f[:-3] for f in os.listdir(os.path.dirname(__file__)) if f.endswith(".py")}
    found = set()
    for f in os.listdir(os.path.dirname(__file__)):
        if not f.endswith(".py"):
            continue
        tree = ast.parse(open(os.path.join(os.path.dirname(__file__), f), encoding="utf-8").read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    def installed(m):  # a package of site-packages, not the standard library
        spec = importlib.util.find_spec(m)
        where = (spec.origin or "") if spec else ""
        return "site-packages" in where or "dist-packages" in where

    return {m for m in found - local - {"bnbound"} if installed(m)}


def test_the_test_extra_installs_what_the_tests_import_and_the_readme_says_how_to_run_them():
    text = open(os.path.join(PY, "pyproject.toml"), encoding="utf-8").read()
    test_extra = set(re.findall(r'"([A-Za-z0-9_.-]+)', re.search(r"^test = \[(.*?)\]", text, re.M | re.S).group(1)))
    deps = set(re.findall(r'"([A-Za-z0-9_.-]+)', re.search(r"^dependencies = \[(.*?)\]", text, re.M | re.S).group(1)))
    imports = third_party_imports()
    assert {"pytest", "numpy", "onnx", "onnxruntime"} <= imports
    missing = imports - test_extra - deps
    assert not missing, f"imported by python/tests but not in the test extra: {sorted(missing)}"
    readme = open(os.path.join(PY, "README.md"), encoding="utf-8").read()
    assert "## Running the tests" in readme
    assert 'pip install "./python[test]"' in readme and "pytest -q python/tests" in readme
