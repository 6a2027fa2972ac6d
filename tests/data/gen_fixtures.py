#!/usr/bin/env python3
"""Generates the model fixtures under tests/data/ (run from the repository root):

    pip install onnx numpy ml_dtypes
    python3 tests/data/gen_fixtures.py

Writes small ONNX and safetensors files plus expected.json, which records every parameter
the generator wrote as the bits of its exact f64 value (and the dtype it was stored in), so
the Rust tests can compare what bnbound loads bit for bit. The tests need only Rust.
"""
import json
import os
import struct

import ml_dtypes
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261124)
expected = {}


def bits(x):
    return struct.unpack("<Q", struct.pack("<d", float(x)))[0]


def stats(c, dtype):
    """gamma, beta, mean, var with hard cases: a zero and a negative gamma, a tiny var."""
    g = rng.uniform(0.5, 2.0, c)
    g[0] = 0.0
    g[1] = -g[1]
    b = rng.uniform(-1, 1, c)
    m = rng.uniform(-1, 1, c)
    v = rng.uniform(0.1, 3.0, c)
    v[min(2, c - 1)] = 1e-7
    return [np.asarray(a, dtype=dtype) for a in (g, b, m, v)]


def record(key, arrays, eps, eps_dtype, dtype_name):
    expected[key] = {
        "dtype": dtype_name,
        "eps_bits": bits(np.asarray(eps, dtype=eps_dtype)),
        "params": [[bits(x) for x in a.astype(np.float64)] for a in arrays],
    }


def bn_model(name, c, dtype, eps=None, training_mode=None, stats_as_inputs=False,
             onnx_type=TensorProto.FLOAT, arrays=None, chain=True):
    """Conv -> BatchNormalization -> Relu over (1, c, 4, 4)."""
    arrays = arrays if arrays is not None else stats(c, dtype)
    names = [f"{name}.scale", f"{name}.B", f"{name}.mean", f"{name}.var"]
    inits, inputs = [], [helper.make_tensor_value_info("x", onnx_type, [1, c, 4, 4])]
    for n, a in zip(names, arrays):
        if stats_as_inputs:
            inputs.append(helper.make_tensor_value_info(n, onnx_type, [c]))
        elif a.dtype == ml_dtypes.bfloat16:
            t = helper.make_tensor(n, TensorProto.BFLOAT16, [c], a.astype(np.float32).tolist())
            inits.append(t)
        else:
            inits.append(numpy_helper.from_array(a, n))
    attrs = {}
    if eps is not None:
        attrs["epsilon"] = eps
    if training_mode is not None:
        attrs["training_mode"] = training_mode
    w = numpy_helper.from_array(np.ones((c, c, 1, 1), dtype=np.float32 if onnx_type == TensorProto.FLOAT else np.float64), "conv.w")
    nodes = []
    bn_in = "x"
    if chain:
        inits.append(w)
        nodes.append(helper.make_node("Conv", ["x", "conv.w"], ["conv_out"], name="conv1"))
        bn_in = "conv_out"
    outs = ["bn_out"] + (["rm", "rv"] if training_mode == 1 else [])
    nodes.append(helper.make_node("BatchNormalization", [bn_in] + names, outs, name=name, **attrs))
    nodes.append(helper.make_node("Relu", ["bn_out"], ["y"], name="relu1"))
    graph = helper.make_graph(nodes, "g", inputs, [helper.make_tensor_value_info("y", onnx_type, [1, c, 4, 4])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
    return model, arrays


def save(model, file, **kw):
    if "location" in kw and os.path.exists(os.path.join(HERE, kw["location"])):
        os.remove(os.path.join(HERE, kw["location"]))  # newer onnx refuses to overwrite it
    onnx.save_model(model, os.path.join(HERE, file), **kw)


# f32 statistics, epsilon attribute 1e-3, in a Conv -> BN -> Relu chain.
m, a = bn_model("bn1", 6, np.float32, eps=1e-3)
save(m, "conv_bn_relu_f32.onnx")
record("conv_bn_relu_f32.onnx/bn1", a, 1e-3, np.float32, "f32")

# f64 statistics, no epsilon attribute (default 1e-5f).
m, a = bn_model("bn64", 5, np.float64, onnx_type=TensorProto.DOUBLE)
save(m, "bn_f64_default_eps.onnx")
record("bn_f64_default_eps.onnx/bn64", a, np.float32(1e-5), np.float32, "f64")

# float16 statistics (raw_data) and bfloat16 statistics (int32_data).
m, a = bn_model("bn16", 4, np.float16, eps=1e-5, onnx_type=TensorProto.FLOAT16, chain=False)
save(m, "bn_f16.onnx")
record("bn_f16.onnx/bn16", a, np.float32(1e-5), np.float32, "f32")
m, a = bn_model("bnbf16", 4, ml_dtypes.bfloat16, eps=1e-5, onnx_type=TensorProto.BFLOAT16, chain=False)
save(m, "bn_bf16.onnx")
record("bn_bf16.onnx/bnbf16", a, np.float32(1e-5), np.float32, "f32")

# External data next to the model.
m, a = bn_model("bnext", 3, np.float32, eps=2e-5)
save(m, "bn_external.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
     location="bn_external.data", size_threshold=0)
record("bn_external.onnx/bnext", a, 2e-5, np.float32, "f32")

# Rejected models.
m, _ = bn_model("bntrain", 3, np.float32, training_mode=1)
save(m, "bn_training_mode.onnx")
m, _ = bn_model("bninputs", 3, np.float32, stats_as_inputs=True)
save(m, "bn_stats_as_inputs.onnx")
m, _ = bn_model("bnmissing", 3, np.float32)
del m.graph.initializer[1]  # bnmissing.B
save(m, "bn_missing_initializer.onnx")
m, _ = bn_model("bnint", 3, np.float32)
m.graph.initializer[0].CopyFrom(numpy_helper.from_array(np.array([1, 2, 3], dtype=np.int64), "bnint.scale"))
save(m, "bn_int_stats.onnx")



# A PyTorch-style state_dict in safetensors, written by hand (header JSON + data) so that
# every dtype (F32, F64, F16, BF16) is stored exactly as chosen.
def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, (dtype, arr) in tensors.items():
        data = arr.tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


sd = {}
for prefix, st, dt, c in [("features.1", "F32", np.float32, 6), ("layer2.bn", "F64", np.float64, 3),
                          ("half", "F16", np.float16, 4), ("bhalf", "BF16", ml_dtypes.bfloat16, 4)]:
    arrays = stats(c, dt)
    for suffix, arr in zip(["weight", "bias", "running_mean", "running_var"], arrays):
        sd[f"{prefix}.{suffix}"] = (st, arr)
    sd[f"{prefix}.num_batches_tracked"] = ("I64", np.array(7, dtype=np.int64))
    record(f"state.safetensors/{prefix}", arrays, np.float32(1e-5), np.float32,
           "f64" if dt == np.float64 else "f32")
# affine=False: running statistics only (gamma = 1, beta = 0).
arrays = stats(2, np.float32)
sd["noaffine.running_mean"] = ("F32", arrays[2])
sd["noaffine.running_var"] = ("F32", arrays[3])
record("state.safetensors/noaffine", [np.ones(2, np.float32), np.zeros(2, np.float32), arrays[2], arrays[3]],
       np.float32(1e-5), np.float32, "f32")
sd["conv.weight"] = ("F32", np.ones((2, 2, 3, 3), dtype=np.float32))
write_safetensors(os.path.join(HERE, "state.safetensors"), sd)

# ---------------------------------------------------------------------------------------
# What torch.onnx.export writes, legacy training forms, and hostile graphs.

def pytorch_export(file, opset, dtype, onnx_type, c=8):
    """Conv -> BatchNorm -> Relu as torch.onnx.export (opset >= 14) writes it: node names
    "/bn1/BatchNormalization", state_dict initializer names, and an explicit
    training_mode = 0 on the BatchNormalization node."""
    arrays = stats(c, dtype)
    names = ["bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"]
    inits = [numpy_helper.from_array(a, n) for n, a in zip(names, arrays)]
    inits.append(numpy_helper.from_array(np.full((c, 3, 3, 3), 0.1, dtype=dtype), "conv1.weight"))
    nodes = [
        helper.make_node("Conv", ["input", "conv1.weight"], ["/conv1/Conv_output_0"],
                         name="/conv1/Conv", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["/conv1/Conv_output_0"] + names,
                         ["/bn1/BatchNormalization_output_0"], name="/bn1/BatchNormalization",
                         epsilon=1e-5, momentum=0.9, training_mode=0),
        helper.make_node("Relu", ["/bn1/BatchNormalization_output_0"], ["output"], name="/relu/Relu"),
    ]
    graph = helper.make_graph(nodes, "main_graph",
                              [helper.make_tensor_value_info("input", onnx_type, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("output", onnx_type, [1, c, 8, 8])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="pytorch", producer_version="2.5.0")
    onnx.checker.check_model(model)
    save(model, file)
    record(f"{file}//bn1/BatchNormalization", arrays, np.float32(1e-5), np.float32, "f32")


pytorch_export("pytorch_opset15_f32.onnx", 15, np.float32, TensorProto.FLOAT)
pytorch_export("pytorch_opset17_f32.onnx", 17, np.float32, TensorProto.FLOAT)
pytorch_export("pytorch_opset17_f16.onnx", 17, np.float16, TensorProto.FLOAT16)


def legacy(file, opset, outputs=("y",), extra_inputs=(), **attrs):
    """One BatchNormalization node in the form of ONNX's own node tests at `opset`."""
    c = 3
    arrays = [np.asarray(a, np.float32) for a in stats(c, np.float32)]
    names = ["s", "bias", "mean", "var"]
    inits = [numpy_helper.from_array(a, n) for n, a in zip(names, arrays)]
    node = helper.make_node("BatchNormalization", ["x"] + names + list(extra_inputs), list(outputs),
                            name="bn", **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, c, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, c, 4])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    save(model, file)


# Opset 9-14 training form: five outputs (running and saved statistics).
legacy("legacy_five_outputs.onnx", 9, outputs=("y", "rm", "rv", "sm", "sv"))
# Opset 6: is_test defaults to 0 (training) ...
legacy("legacy_opset6_default.onnx", 6)
# ... and an explicit is_test = 1 is inference.
legacy("legacy_opset6_is_test.onnx", 6, is_test=1)
# Opset 8: spatial = 0 (per-activation statistics).
legacy("legacy_spatial0.onnx", 8, spatial=0)
# The opset-12 draft's sixth input, training_mode.
legacy("legacy_training_input.onnx", 12, extra_inputs=("tm",))


def multi(file, mutate):
    """Two valid BatchNorm layers "good" and "other" on x; `mutate` breaks one thing."""
    c = 2
    nodes, inits, inputs = [], [], [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c])]
    for layer in ["good", "other"]:
        arrays = [np.asarray(a, np.float32) for a in stats(c, np.float32)]
        names = [f"{layer}.{k}" for k in ("scale", "B", "mean", "var")]
        inits += [numpy_helper.from_array(a, n) for n, a in zip(names, arrays)]
        nodes.append(helper.make_node("BatchNormalization", ["x"] + names, [f"{layer}_y"], name=layer))
        if layer == "good":
            record(f"{file}/good", arrays, np.float32(1e-5), np.float32, "f32")
    graph = helper.make_graph(nodes, "g", inputs,
                              [helper.make_tensor_value_info(f"{l}_y", TensorProto.FLOAT, [1, c]) for l in ("good", "other")],
                              inits)
    mutate(graph)
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)]), file)


def stats_from_constant(g):
    # "other".mean comes from a Constant node, not an initializer.
    t = [i for i in g.initializer if i.name == "other.mean"][0]
    g.initializer.remove(t)
    g.node.insert(0, helper.make_node("Constant", [], ["other.mean"], name="const", value=t))


def duplicate_initializer(g):
    t = [i for i in g.initializer if i.name == "other.var"][0]
    g.initializer.append(t)


def initializer_is_input(g):
    g.input.append(helper.make_tensor_value_info("other.B", TensorProto.FLOAT, [2]))


def duplicate_node_name(g):
    g.node.append(helper.make_node("Relu", ["other_y"], ["z"], name="other"))


def unnamed(g):
    g.node[1].name = ""


multi("multi_constant_stats.onnx", stats_from_constant)
multi("multi_duplicate_initializer.onnx", duplicate_initializer)
multi("multi_initializer_is_input.onnx", initializer_is_input)
multi("multi_duplicate_node_name.onnx", duplicate_node_name)
multi("multi_unnamed.onnx", unnamed)


def stats_computed(g):
    # Constant nodes and initializers listed as inputs are constants; a
    # statistic computed by another operation (here Relu of an initializer) is not.
    t = [i for i in g.initializer if i.name == "other.mean"][0]
    t.name = "other.mean_raw"
    g.node.insert(0, helper.make_node("Relu", ["other.mean_raw"], ["other.mean"], name="relu_mean"))


multi("multi_computed_stats.onnx", stats_computed)

# VNN-COMP style gzip-compressed model.
import gzip  # noqa: E402
with open(os.path.join(HERE, "pytorch_opset17_f32.onnx"), "rb") as src:
    with gzip.GzipFile(os.path.join(HERE, "pytorch_opset17_f32.onnx.gz"), "wb", mtime=0) as dst:
        dst.write(src.read())

with open(os.path.join(HERE, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
    f.write("\n")
