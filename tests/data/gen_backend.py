#!/usr/bin/env python3
"""Copies ONNX's own backend-test models that list initializers as graph inputs into
tests/data/onnx_backend/ and records, independently of bnbound, what each BatchNorm layer
holds (run from the repository root):

    pip install onnx==1.23.2 onnxruntime numpy
    python3 tests/data/gen_backend.py

The models come with the onnx package (Apache-2.0): the five PyTorch-converted BatchNorm
tests (IR 3, opset 6: statistics are initializers listed as graph inputs) and the light
ResNet-50 (IR 3, opset 9: 7 layers with such statistics, 46 whose statistics are
ConstantOfShape nodes of an initializer shape). onnxruntime (1.32) must accept the light
ResNet-50; it no longer implements BatchNormalization-6, so the opset-6 models are checked
with onnx.checker only.

backend_expected.json records per layer: channels, eps bits, whether a statistic is
overridable (an initializer that is also a graph input, or computed from one), the
statistics' element type, and an FNV-1a-64 digest of the four statistics' exact values as
little-endian f64 bytes (gamma, beta, mean, var), computed here with numpy.
"""
import json
import os
import shutil
import struct

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "onnx_backend")
SRC = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")
MODELS = {
    f"{t}.onnx": os.path.join(SRC, "pytorch-converted", t, "model.onnx")
    for t in ["test_BatchNorm1d_3d_input_eval", "test_BatchNorm2d_eval",
              "test_BatchNorm2d_momentum_eval", "test_BatchNorm3d_eval",
              "test_BatchNorm3d_momentum_eval"]
}
MODELS["light_resnet50.onnx"] = os.path.join(SRC, "light", "light_resnet50.onnx")


def fnv1a(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def resolve(g, name, inits, inputs, prod):
    """(values, element type name, overridable) of a constant tensor."""
    if name in inits:
        a = numpy_helper.to_array(inits[name])
        return a, a.dtype.name, name in inputs
    n = prod[name]
    if n.op_type == "Identity":
        return resolve(g, n.input[0], inits, inputs, prod)
    assert n.op_type == "ConstantOfShape", n.op_type
    shape, _, over = resolve(g, n.input[0], inits, inputs, prod)
    value = np.zeros(1, np.float32)
    for a in n.attribute:
        if a.name == "value":
            value = numpy_helper.to_array(a.t)
    return np.full(tuple(int(d) for d in shape), value.reshape(()), dtype=value.dtype), value.dtype.name, over


os.makedirs(OUT, exist_ok=True)
expected = {}
for file, src in MODELS.items():
    shutil.copyfile(src, os.path.join(OUT, file))
    m = onnx.load(os.path.join(OUT, file))
    onnx.checker.check_model(m)
    if file.startswith("light"):
        ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    inputs = {i.name for i in g.input}
    prod = {o: n for n in g.node for o in n.output}
    for n in g.node:
        if n.op_type != "BatchNormalization":
            continue
        name = n.name or n.output[0]
        stats = [resolve(g, s, inits, inputs, prod) for s in n.input[1:5]]
        eps = 1e-5
        for a in n.attribute:
            if a.name == "epsilon":
                eps = a.f
        data = b"".join(np.asarray(v, np.float64).astype("<f8").tobytes() for v, _, _ in stats)
        expected[f"{file}/{name}"] = {
            "channels": int(stats[0][0].size),
            "eps_bits": struct.unpack("<Q", struct.pack("<d", float(np.float32(eps))))[0],
            "overridable": any(o for _, _, o in stats),
            "digest": fnv1a(data),
        }

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
    f.write("\n")
print(len(expected), "layers")
