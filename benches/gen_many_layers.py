#!/usr/bin/env python3
"""Writes models with many BatchNorm layers, to time model loading:

    python3 benches/gen_many_layers.py OUT_DIR 1000 10000 100000

For each N: OUT_DIR/chain_N.onnx (N BatchNormalization nodes in a chain, C = 4, f32
statistics as raw_data initializers, PyTorch-style names and training_mode = 0) and
OUT_DIR/state_N.safetensors (N prefixes layerK.bn with weight/bias/running_mean/running_var
and num_batches_tracked). Then time, for example:

    bnbound inspect OUT_DIR/chain_100000.onnx > /dev/null
    bnbound ibp --model OUT_DIR/chain_100000.onnx --layer /bn99999/BatchNormalization --input BOX.json
"""
import json
import os
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def onnx_chain(path, n, c=4):
    rng = np.random.default_rng(n)
    nodes, inits = [], []
    prev = "input"
    for k in range(n):
        names = [f"bn{k}.weight", f"bn{k}.bias", f"bn{k}.running_mean", f"bn{k}.running_var"]
        vals = [rng.uniform(0.5, 2, c), rng.uniform(-1, 1, c), rng.uniform(-1, 1, c), rng.uniform(0.1, 3, c)]
        inits += [numpy_helper.from_array(v.astype(np.float32), nm) for nm, v in zip(names, vals)]
        out = f"/bn{k}/BatchNormalization_output_0"
        nodes.append(helper.make_node("BatchNormalization", [prev] + names, [out],
                                      name=f"/bn{k}/BatchNormalization", epsilon=1e-5, training_mode=0))
        prev = out
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, c])],
                              [helper.make_tensor_value_info(prev, TensorProto.FLOAT, [1, c])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save_model(model, path)


def state(path, n, c=4):
    header, blobs, off = {}, [], 0
    for k in range(n):
        for suffix in ["weight", "bias", "running_mean", "running_var"]:
            data = np.full(c, 1.0 if suffix.endswith("var") or suffix == "weight" else 0.0, np.float32).tobytes()
            header[f"layer{k}.bn.{suffix}"] = {"dtype": "F32", "shape": [c], "data_offsets": [off, off + len(data)]}
            blobs.append(data)
            off += len(data)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


if __name__ == "__main__":
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for n in map(int, sys.argv[2:]):
        onnx_chain(os.path.join(out, f"chain_{n}.onnx"), n)
        state(os.path.join(out, f"state_{n}.safetensors"), n)
        print(n, "written")
