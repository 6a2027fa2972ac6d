"""Model loading: every fixture layer of tests/data loads bit for bit as the independent
generator (tests/data/gen_fixtures.py, with the onnx package) recorded it in
expected.json; invalid and hostile files raise bnbound.Error."""

import gzip
import json
import os
import shutil

import numpy as np
import pytest

import bnbound
from conftest import DATA

EXPECTED = json.load(open(os.path.join(DATA, "expected.json")))
MULTI_LAYER = {"multi_constant_stats.onnx", "multi_duplicate_initializer.onnx",
               "multi_duplicate_node_name.onnx", "multi_initializer_is_input.onnx",
               "multi_unnamed.onnx", "multi_computed_stats.onnx"}


def bits(a):
    return [int(v) for v in np.asarray(a, np.float64).view(np.uint64)]


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_fixture_layers_load_bit_for_bit(key):
    file, layer = key.split("/", 1)
    want = EXPECTED[key]
    path = os.path.join(DATA, file)
    if file.endswith(".safetensors"):
        bn = bnbound.load_safetensors(path, layer)  # eps 1e-5 as f32, as recorded
    elif file in MULTI_LAYER:
        bn = bnbound.load_onnx(path, layer=layer)[layer]  # other layers there are invalid
    else:
        bns = bnbound.load_onnx(path)
        assert list(bns) == [layer]
        bn = bns[layer]
    assert bn.dtype == (np.float32 if want["dtype"] == "f32" else np.float64)
    got = [bits(bn.gamma), bits(bn.beta), bits(bn.running_mean), bits(bn.running_var)]
    assert got == want["params"]
    assert bits([bn.eps]) == [want["eps_bits"]]
    assert isinstance(bn.stored_as, str)


def test_gzip_model_and_pathlike(tmp_path):
    import pathlib
    a = bnbound.load_onnx(pathlib.Path(DATA) / "pytorch_opset17_f32.onnx.gz")
    b = bnbound.load_onnx(os.path.join(DATA, "pytorch_opset17_f32.onnx"))
    assert list(a) == list(b)
    (name,) = a
    assert bits(a[name].gamma) == bits(b[name].gamma)


@pytest.mark.parametrize("file, message", [
    ("bn_training_mode.onnx", "training_mode"),
    ("legacy_five_outputs.onnx", "training|output"),
    ("legacy_opset6_default.onnx", "is_test|training"),
    ("legacy_spatial0.onnx", "spatial"),
    ("bn_stats_as_inputs.onnx", "input"),
    ("bn_missing_initializer.onnx", "not in the model|missing"),
    ("bn_int_stats.onnx", "type|int"),
    ("multi_duplicate_node_name.onnx", "more than once"),
])
def test_invalid_models_are_errors(file, message):
    with pytest.raises(bnbound.Error, match=message):
        bnbound.load_onnx(os.path.join(DATA, file))


def test_hostile_files(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x0a\xff\xff\xff\xff\x0f" + os.urandom(64))
    with pytest.raises(bnbound.Error):
        bnbound.load_onnx(str(junk))
    good = open(os.path.join(DATA, "conv_bn_relu_f32.onnx"), "rb").read()
    for cut in (1, len(good) // 3, len(good) - 1):
        t = tmp_path / f"cut{cut}.onnx"
        t.write_bytes(good[:cut])
        with pytest.raises(bnbound.Error):
            bnbound.load_onnx(str(t))
    bomb = tmp_path / "bomb.onnx.gz"
    bomb.write_bytes(gzip.compress(b"\0" * (64 << 20)))  # 64 MiB of zeros
    with pytest.raises(bnbound.Error):
        bnbound.load_onnx(str(bomb))
    st = tmp_path / "junk.safetensors"
    st.write_bytes((2**62).to_bytes(8, "little") + b"{}")  # a header length past the file
    with pytest.raises(bnbound.Error):
        bnbound.load_safetensors(str(st), "bn")
    with pytest.raises(bnbound.Error, match="No such file|not found|os error"):
        bnbound.load_onnx(str(tmp_path / "missing.onnx"))


def test_external_data_may_not_leave_the_model_folder(tmp_path):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    outside = tmp_path / "secret.data"
    shutil.copy(os.path.join(DATA, "bn_external.data"), outside)
    shutil.copy(os.path.join(DATA, "bn_external.onnx"), model_dir / "bn_external.onnx")
    os.symlink(outside, model_dir / "bn_external.data")
    with pytest.raises(bnbound.Error, match="outside|folder"):
        bnbound.load_onnx(str(model_dir / "bn_external.onnx"))
    # The same data as a plain file inside the folder loads.
    os.remove(model_dir / "bn_external.data")
    shutil.copy(outside, model_dir / "bn_external.data")
    assert list(bnbound.load_onnx(str(model_dir / "bn_external.onnx"))) == ["bnext"]


def test_unknown_layer_and_safetensors_prefix():
    with pytest.raises(bnbound.Error, match="layer|nope"):
        bnbound.load_onnx(os.path.join(DATA, "conv_bn_relu_f32.onnx"), layer="nope")
    with pytest.raises(bnbound.Error, match="nope|not in"):
        bnbound.load_safetensors(os.path.join(DATA, "state.safetensors"), "nope")
    bn = bnbound.load_safetensors(os.path.join(DATA, "state.safetensors"), "half", eps=1e-3,
                                  eps_dtype="f64")
    assert bn.eps == 1e-3 and bn.dtype == np.float64  # 1e-3 is not an f32 value
