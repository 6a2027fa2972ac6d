#!/usr/bin/env python3
"""Engine test of what bnbound reads from an ONNX graph (tests/data/graph/, built by
testkit/src/onnx.rs, expectations in expected.json), against onnx and onnxruntime:

- xtype_*: the element type of the BatchNorm's input X ("t"), declared nowhere, as onnx's
  own shape inference gives it, equals the one the fixture expects (and bnbound's, checked
  by tests/cases/model_load.rs). Where onnxruntime runs the model, every output lies inside
  `bnbound ibp --semantics deployed --runtime onnxruntime-cpu` on the point box of X; where
  the type is unknown, deployed semantics is refused (exit 2) and real semantics answers.
- fusion_*: onnxruntime's ConvBNFusion applies exactly where the fixture says (the
  BatchNormalization survives ORT_ENABLE_EXTENDED optimisation otherwise); `bnbound fold
  --runtime onnxruntime-cpu` exits 2 where it does not, and where it does, a plain Conv with
  the folded weights gives onnxruntime's outputs bit for bit.

Usage: ort_graph.py PATH/TO/bnbound      (exit 1 on any disagreement)
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

DATA = Path(__file__).resolve().parent.parent / "data" / "graph"
RNG = np.random.default_rng(20261205)
NP = {TensorProto.FLOAT: np.float32, TensorProto.FLOAT16: np.float16,
      TensorProto.DOUBLE: np.float64}
failures = []


def fail(msg):
    print("FAIL", msg)
    failures.append(msg)


def session(path, level, opt_path=None):
    so = ort.SessionOptions()
    so.graph_optimization_level = level
    so.log_severity_level = 3
    if opt_path:
        so.optimized_model_filepath = str(opt_path)
    src = path if isinstance(path, bytes) else str(path)
    return ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])


def inferred_x_type(model):
    try:
        m = onnx.shape_inference.infer_shapes(model)
    except Exception:  # a cycle or an unknown op: onnx cannot tell
        return None
    for v in list(m.graph.value_info) + list(m.graph.output) + list(m.graph.input):
        if v.name == "t" and v.type.tensor_type.elem_type:
            return v.type.tensor_type.elem_type
    return None


def bnbound(exe, *args):
    return subprocess.run([exe, *args], capture_output=True, text=True)


def check_x_type(exe, name, want, tmp):
    path = DATA / f"{name}.onnx"
    model = onnx.load(path)
    got = inferred_x_type(model)
    if got != want:
        fail(f"{name}: onnx infers X's type {got}, the fixture says {want}")
    box = tmp / "box.json"
    if want is None:
        json.dump({"shape": [1, 8], "lo": [0.5] * 8, "hi": [1.0] * 8}, open(box, "w"))
        r = bnbound(exe, "ibp", "--model", str(path), "--layer", "bn", "--input", str(box),
                    "--semantics", "deployed", "--runtime", "onnxruntime-cpu")
        if r.returncode != 2 or "cannot be inferred" not in r.stderr or '"bn"' not in r.stderr:
            fail(f"{name}: deployed semantics not refused: {r.returncode} {r.stderr.strip()}")
        r = bnbound(exe, "ibp", "--model", str(path), "--layer", "bn", "--input", str(box),
                    "--semantics", "real")
        if r.returncode != 0:
            fail(f"{name}: real semantics refused: {r.stderr.strip()}")
        print(f"{name}: X untyped (onnx agrees); deployed refused, real answers")
        return
    x_elem = model.graph.input[0].type.tensor_type.elem_type
    # X ("t") as an extra output, to build bnbound's box from onnxruntime's own values.
    probe = onnx.load(path)
    probe.graph.output.append(helper.make_tensor_value_info("t", want, None))
    sp = session(probe.SerializeToString(), ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    outside = total = 0
    for level in (ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
                  ort.GraphOptimizationLevel.ORT_ENABLE_ALL):
        s = session(path, level)
        for _ in range(16):
            x = RNG.uniform(-3, 3, (1, 8)).astype(NP[x_elem])
            t = sp.run(["t"], {"x": x})[0]
            y = s.run(None, {"x": x})[0]
            if y.dtype != NP[want]:
                fail(f"{name}: onnxruntime's output is {y.dtype}, X's type is {want}")
            tv = [float(v) for v in t.ravel()]
            json.dump({"shape": [1, 8], "lo": tv, "hi": tv}, open(box, "w"))
            r = bnbound(exe, "ibp", "--model", str(path), "--layer", "bn", "--input",
                        str(box), "--semantics", "deployed", "--runtime", "onnxruntime-cpu")
            if r.returncode != 0:
                fail(f"{name}: bnbound ibp: {r.stderr.strip()}")
                return
            o = json.loads(r.stdout)
            # Shortest decimal strings of the output type: read them back in that type.
            dt = {"f32": np.float32, "f64": np.float64, "f16": np.float16}[o["dtype"]]
            lo = np.array([float(v) for v in o["lo"]]).astype(dt).astype(np.float64)
            hi = np.array([float(v) for v in o["hi"]]).astype(dt).astype(np.float64)
            yv = y.astype(np.float64).ravel()
            outside += int(((yv < lo) | (yv > hi)).sum())
            total += yv.size
    if outside:
        fail(f"{name}: {outside} of {total} onnxruntime outputs outside the deployed bounds")
    print(f"{name}: X {want} (onnx agrees); {outside} of {total} outputs outside")


def check_fusion(exe, name, fused, refused, tmp):
    path = DATA / f"{name}.onnx"
    opt = tmp / "opt.onnx"
    try:
        s = session(path, ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED, opt)
    except Exception as e:  # onnxruntime refuses the model: nothing runs it fused
        s = None
        ort_fused = False
        print(f"{name}: onnxruntime refuses the model ({str(e)[:80]})")
    else:
        ops = [n.op_type for n in onnx.load(opt).graph.node]
        ort_fused = "BatchNormalization" not in ops
    if ort_fused != fused:
        fail(f"{name}: onnxruntime fuses: {ort_fused}, the fixture says {fused}")
    if refused is None and not ort_fused:
        fail(f"{name}: bnbound would claim a fusion onnxruntime does not do")
    model = onnx.load(path)
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    w = inits.get("W", inits.get("W0"))
    bc = inits.get("Bc", np.zeros(w.shape[0], w.dtype))
    layer = tmp / "conv.json"
    json.dump({"dims": list(w.shape), "weight": [float(v) for v in w.ravel()],
               "bias": [float(v) for v in bc]}, open(layer, "w"))
    r = bnbound(exe, "fold", "--model", str(path), "--layer", "bn", "--input", str(layer),
                "--runtime", "onnxruntime-cpu")
    if refused is not None:
        if r.returncode != 2 or "does not fuse" not in r.stderr or refused not in r.stderr:
            fail(f"{name}: fold not refused: {r.returncode} {r.stderr.strip()}")
        what = "not fused by onnxruntime" if not fused else "fused by onnxruntime (bnbound is conservative)"
        print(f"{name}: {what}; bnbound refuses: {r.stderr.strip()[:150]}")
        return
    if r.returncode != 0:
        fail(f"{name}: fold refused: {r.stderr.strip()}")
        return
    f = json.loads(r.stdout)
    dt = w.dtype
    wf = np.array([float(v) for v in f["weight"]]).astype(dt).reshape(w.shape)
    bf = np.array([float(v) for v in f["bias"]]).astype(dt)
    elem = model.graph.input[0].type.tensor_type.elem_type
    conv = helper.make_model(helper.make_graph(
        [helper.make_node("Conv", ["x", "W", "B"], ["y"], pads=[1, 1, 1, 1])], "c",
        [helper.make_tensor_value_info("x", elem, None)],
        [helper.make_tensor_value_info("y", elem, None)],
        initializer=[numpy_helper.from_array(wf, "W"), numpy_helper.from_array(bf, "B")]),
        opset_imports=[helper.make_opsetid("", 15)])
    conv.ir_version = 8
    s_all = session(path, ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    s_conv = session(conv.SerializeToString(), ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    differ = total = 0
    for _ in range(20):
        x = RNG.uniform(-3, 3, (1, 2, 4, 4)).astype(dt)
        y1 = s_all.run(["y"], {"x": x})[0]
        y2 = s_conv.run(None, {"x": x})[0]
        differ += int((y1 != y2).sum())
        total += y1.size
    if differ:
        fail(f"{name}: {differ} of {total} outputs differ from the folded Conv")
    print(f"{name}: fused; folded Conv bit for bit on {total - differ} of {total} outputs")


def main():
    exe = sys.argv[1]
    expected = json.load(open(DATA / "expected.json"))
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for name, want in expected.items():
            if "x_type" in want:
                check_x_type(exe, name, want["x_type"], tmp)
            else:
                check_fusion(exe, name, want["fused"], want["refused"], tmp)
    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
