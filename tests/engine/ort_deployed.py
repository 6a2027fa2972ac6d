#!/usr/bin/env python3
"""Engine test of deployed-float semantics: ONNX Runtime's real outputs against
bnbound's deployed bounds.

Builds BatchNorm-only ONNX models (f32 and f64; typical, cancellation-prone and tiny-variance
statistics), runs ONNX Runtime's CPU provider with graph optimisation off and fully on, on the
box endpoints and on random interior points, and checks every output against

    bnbound ibp --model M --layer bn --input BOX --semantics deployed --runtime onnxruntime-cpu

Every output must lie inside the deployed bounds (exit 1 otherwise). It also counts how many
lie outside the real bounds (`--semantics real`), the gap the deployed mode closes.

Usage: ort_deployed.py PATH/TO/bnbound
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

RNG = np.random.default_rng(20261125)


def model(params, dtype, shape):
    g, b, m, v, eps = params
    elem = {np.float32: TensorProto.FLOAT, np.float64: TensorProto.DOUBLE,
            np.float16: TensorProto.FLOAT16}[dtype]
    inits = [
        numpy_helper.from_array(np.asarray(a, dtype=dtype), name)
        for a, name in [(g, "scale"), (b, "B"), (m, "mean"), (v, "var")]
    ]
    node = helper.make_node(
        "BatchNormalization", ["x", "scale", "B", "mean", "var"], ["y"], name="bn", epsilon=eps
    )
    graph = helper.make_graph(
        [node],
        "bn_only",
        [helper.make_tensor_value_info("x", elem, list(shape))],
        [helper.make_tensor_value_info("y", elem, list(shape))],
        initializer=inits,
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def layers(c):
    """(name, gamma, beta, mean, var, eps) layers of c channels."""
    out = []
    # Typical PyTorch-like statistics.
    out.append(("typical", RNG.uniform(0.5, 1.5, c) * RNG.choice([-1, 1], c),
                RNG.uniform(-0.3, 0.3, c), RNG.uniform(-1, 1, c), RNG.uniform(0.001, 0.3, c), 1e-5))
    # Cancellation: beta close to mean*gamma/sqrt(var+eps), outputs near zero.
    g = RNG.uniform(0.5, 2, c)
    m = RNG.uniform(1, 8, c)
    v = RNG.uniform(0.01, 4, c)
    out.append(("cancellation", g, m * g / np.sqrt(v + 1e-5) * (1 + 1e-7), m, v, 1e-5))
    # Tiny variance (huge scale) and large means.
    out.append(("tiny_var", RNG.uniform(-2, 2, c), RNG.uniform(-1, 1, c),
                RNG.uniform(-100, 100, c), RNG.uniform(0, 1e-6, c), 1e-8))
    return out


def sessions(path):
    """ONNX Runtime CPU sessions of the model, graph optimisation off and fully on."""
    for level in (ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
                  ort.GraphOptimizationLevel.ORT_ENABLE_ALL):
        so = ort.SessionOptions()
        so.graph_optimization_level = level
        yield level, ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def num(s):
    if s == "inf":
        return np.inf
    if s == "-inf":
        return -np.inf
    return s


def bnbound_ibp(exe, model_path, box_path, semantics):
    args = [exe, "ibp", "--model", str(model_path), "--layer", "bn", "--input", str(box_path),
            "--semantics", semantics]
    if semantics == "deployed":
        args += ["--runtime", "onnxruntime-cpu"]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"bnbound failed ({r.returncode}): {r.stderr.strip()}")
    return json.loads(r.stdout)


def as_dtype(values, dtype):
    # Each number is the shortest decimal of a value of the dtype: reading it as a Python
    # float and converting gives that value back.
    return np.array([float(num(x)) for x in values], dtype=np.float64).astype(dtype)


def conv_bn_model(w, b, params, shape):
    g, beta, m, v, eps = params
    inits = [numpy_helper.from_array(np.asarray(a, dtype=np.float32), name) for a, name in
             [(w, "W"), (b, "Bc"), (g, "scale"), (beta, "B"), (m, "mean"), (v, "var")]]
    conv = helper.make_node("Conv", ["x", "W", "Bc"], ["t"], name="conv", pads=[1, 1, 1, 1])
    bn = helper.make_node("BatchNormalization", ["t", "scale", "B", "mean", "var"], ["y"],
                          name="bn", epsilon=eps)
    c = w.shape[0]
    graph = helper.make_graph(
        [conv, bn], "conv_bn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [shape[0], c, shape[2], shape[3]])],
        initializer=inits)
    mo = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
    mo.ir_version = 8
    onnx.checker.check_model(mo)
    return mo


def conv_model(w, b, shape):
    inits = [numpy_helper.from_array(np.asarray(w, dtype=np.float32), "W"),
             numpy_helper.from_array(np.asarray(b, dtype=np.float32), "Bc")]
    conv = helper.make_node("Conv", ["x", "W", "Bc"], ["y"], name="conv", pads=[1, 1, 1, 1])
    c = w.shape[0]
    graph = helper.make_graph(
        [conv], "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [shape[0], c, shape[2], shape[3]])],
        initializer=inits)
    mo = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
    mo.ir_version = 8
    return mo


def conv_bn(exe, tmp):
    """ONNX Runtime fuses Conv→BatchNorm when optimising; its outputs must equal, bit for
    bit, those of the plain Conv with the weights bnbound's deployed fold replays."""
    compared = 0
    for name, g, b, m, v, eps in layers(8):
        cin, c = 3, 8
        w = RNG.normal(0, 0.5, (c, cin, 3, 3)).astype(np.float32)
        bc = RNG.normal(0, 0.2, c).astype(np.float32)
        params = [np.asarray(a, dtype=np.float32) for a in (g, b, m, v)] + [float(np.float32(eps))]
        shape = (2, cin, 6, 6)
        mp = tmp / f"conv_bn_{name}.onnx"
        onnx.save(conv_bn_model(w, bc, params, shape), mp)
        lp = tmp / "conv.json"
        lp.write_text(json.dumps({"dims": list(w.shape), "weight": [float(x) for x in w.ravel()],
                                  "bias": [float(x) for x in bc]}))
        r = subprocess.run([exe, "fold", "--model", str(mp), "--layer", "bn", "--input", str(lp),
                            "--runtime", "onnxruntime-cpu"], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"bnbound fold failed: {r.stderr.strip()}")
        f = json.loads(r.stdout)
        wf = as_dtype(f["weight"], np.float32).reshape(w.shape)
        bf = as_dtype(f["bias"], np.float32)
        cp = tmp / "conv_only.onnx"
        onnx.save(conv_model(wf, bf, shape), cp)
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.optimized_model_filepath = str(tmp / "optimized.onnx")
        so.log_severity_level = 3
        fused = ort.InferenceSession(str(mp), so, providers=["CPUExecutionProvider"])
        ops = [n.op_type for n in onnx.load(str(tmp / "optimized.onnx")).graph.node]
        if "BatchNormalization" in ops:
            sys.exit(f"onnxruntime did not fuse Conv→BatchNorm ({ops})")
        # The same optimisation level for the plain Conv, so both run the same conv kernel
        # (ENABLE_ALL also changes the conv's layout and accumulation order).
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        plain = ort.InferenceSession(str(cp), so, providers=["CPUExecutionProvider"])
        for _ in range(4):
            x = RNG.uniform(-3, 3, shape).astype(np.float32)
            y1 = fused.run(None, {"x": x})[0]
            y2 = plain.run(None, {"x": x})[0]
            if not np.array_equal(y1.view(np.int32), y2.view(np.int32)):
                k = int(np.flatnonzero(y1 != y2)[0])
                sys.exit(f"Conv→BN {name}: fused output {y1.ravel()[k]!r} differs from the "
                         f"replayed fold's {y2.ravel()[k]!r}")
            compared += y1.size
    return compared


def nchwc_bn(exe, tmp):
    """At the default optimisation level ONNX Runtime rewrites an f32 BatchNorm whose input
    is in NCHWc layout (here: a Conv output that a Relu also reads) into a depthwise 1×1
    NCHWc convolution with weight γ/√(σ²+ε) (a division) and bias β − μ·s'
    (nchwc_transformer.cc). Its outputs must lie inside the onnxruntime-cpu bounds."""
    checked = outside = 0
    c, shape = 16, (1, 16, 8, 8)
    for name, g, b, m, v, eps in layers(c):
        arrays = [np.eye(c, dtype=np.float32).reshape(c, c, 1, 1)] + \
            [np.asarray(a, dtype=np.float32) for a in (g, b, m, v)]
        inits = [numpy_helper.from_array(a, n) for a, n in
                 zip(arrays, ["W", "scale", "B", "mean", "var"])]
        nodes = [helper.make_node("Conv", ["x", "W"], ["t"], name="conv"),
                 helper.make_node("BatchNormalization", ["t", "scale", "B", "mean", "var"], ["y"],
                                  name="bn", epsilon=float(np.float32(eps))),
                 helper.make_node("Relu", ["t"], ["r"], name="relu")]
        outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(shape)) for n in "yr"]
        graph = helper.make_graph(nodes, "nchwc", [helper.make_tensor_value_info(
            "x", TensorProto.FLOAT, list(shape))], outs, initializer=inits)
        mo = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
        mo.ir_version = 8
        mp = tmp / f"nchwc_{name}.onnx"
        onnx.save(mo, mp)
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.optimized_model_filepath = str(tmp / "nchwc_opt.onnx")
        so.log_severity_level = 3
        sess = ort.InferenceSession(str(mp), so, providers=["CPUExecutionProvider"])
        ops = [n.op_type for n in onnx.load(str(tmp / "nchwc_opt.onnx")).graph.node]
        if "BatchNormalization" in ops:
            sys.exit(f"onnxruntime did not rewrite BatchNorm into an NCHWc conv ({ops})")
        for _ in range(4):
            x = RNG.uniform(-4, 4, shape).astype(np.float32)
            y, r = sess.run(None, {"x": x})
            if not np.array_equal(np.maximum(x, 0), r):
                sys.exit("the identity conv changed its input")
            bp = tmp / "nchwc_box.json"
            pts = [float(t) for t in x.ravel()]
            bp.write_text(json.dumps({"shape": list(shape), "lo": pts, "hi": pts}))
            dep = bnbound_ibp(exe, mp, bp, "deployed")
            dlo, dhi = as_dtype(dep["lo"], np.float32), as_dtype(dep["hi"], np.float32)
            y = y.ravel()
            bad = (y < dlo) | (y > dhi) | np.isnan(y)
            checked += y.size
            outside += int(bad.sum())
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                print(f"VIOLATION NCHWc {name}: element {i} output {y[i]!r} outside "
                      f"[{dlo[i]!r}, {dhi[i]!r}]")
    return checked, outside


def f16_any(exe, tmp):
    """float16 data: ONNX Runtime's 16-bit BatchNorm kernel is not replayed, but every one
    of its outputs must lie inside `--runtime any` (every order, any f32/f16 mixture) and
    inside `--runtime onnxruntime-cpu`, which gives any's bounds for it (with a note).
    Returns (checked, outside real, outside pytorch-cpu, outside any, outside onnxruntime-cpu)."""
    counts = [0, 0, 0, 0, 0]
    for c in (3, 16):
        shape = (2, c, 4, 4)
        for name, g, b, m, v, eps in layers(c):
            if name == "tiny_var":  # the f32 layer's 1e-6 variances are below f16's normals
                m, v, eps = RNG.uniform(-8, 8, c), RNG.uniform(1e-4, 1e-3, c), 1e-5
            p16 = [np.asarray(a, dtype=np.float64).astype(np.float16) for a in (g, b, m, v)]
            mp = tmp / f"{name}_f16_{c}.onnx"
            onnx.save(model(p16 + [float(np.float32(eps))], np.float16, shape), mp)
            pp = tmp / "params16.json"
            e16 = float(np.float32(eps))  # ε stays f32: the kernels use the float attribute
            pp.write_text(json.dumps({"dtype": "f16", "eps": e16, **{
                k: [float(x) for x in a] for k, a in
                zip(["gamma", "beta", "running_mean", "running_var"], p16)}}))
            center = RNG.uniform(-4, 4, shape).astype(np.float16)
            radius = (RNG.uniform(0, 0.5, shape) * (RNG.uniform(0, 1, shape) < 0.7)).astype(np.float16)
            lo, hi = (center - radius).astype(np.float16), (center + radius).astype(np.float16)
            bp = tmp / "box16.json"
            bp.write_text(json.dumps({"shape": list(shape), "lo": [float(x) for x in lo.ravel()],
                                      "hi": [float(x) for x in hi.ravel()]}))
            bounds = []
            for extra in (["--semantics", "real"],
                          ["--semantics", "deployed", "--runtime", "pytorch-cpu"],
                          ["--semantics", "deployed", "--runtime", "any"],
                          ["--semantics", "deployed", "--runtime", "onnxruntime-cpu"]):
                r = subprocess.run([exe, "ibp", "--params", str(pp), "--input", str(bp)] + extra,
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    sys.exit(f"bnbound ibp (f16, {extra}) failed: {r.stderr.strip()}")
                if extra[-1] == "onnxruntime-cpu" and "not replayed" not in r.stderr:
                    sys.exit("bnbound ibp (f16, onnxruntime-cpu) gave no note that its 16-bit "
                             "kernels are not replayed")
                out = json.loads(r.stdout)
                bounds.append((as_dtype(out["lo"], np.float16), as_dtype(out["hi"], np.float16)))
            inputs = [lo, hi] + [(lo.astype(np.float32) + (hi.astype(np.float32) - lo.astype(np.float32))
                                  * RNG.uniform(0, 1, shape)).astype(np.float16).clip(lo, hi)
                                 for _ in range(6)]
            for _, sess in sessions(mp):
                for x in inputs:
                    y = sess.run(None, {"x": x})[0].ravel()
                    counts[0] += y.size
                    for k, (blo, bhi) in enumerate(bounds):
                        out = (y < blo) | (y > bhi) | np.isnan(y)
                        counts[k + 1] += int(out.sum())
                        if k >= 2 and out.any():
                            i = int(np.flatnonzero(out)[0])
                            rt = ["any", "onnxruntime-cpu"][k - 2]
                            print(f"VIOLATION f16 {name} C={c}: element {i} output {y[i]!r} "
                                  f"outside [{blo[i]!r}, {bhi[i]!r}] (--runtime {rt})")
    return counts


def main():
    exe = sys.argv[1]
    totals = {"checked": 0, "outside_real": 0, "outside_deployed": 0}
    worst_real = 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for dtype in (np.float32, np.float64):
            for c in (3, 16):
                shape = (2, c, 4, 4)
                for name, g, b, m, v, eps in layers(c):
                    params = [np.asarray(a, dtype=dtype) for a in (g, b, m, v)] + [float(np.float32(eps))]
                    mp = tmp / f"{name}_{dtype.__name__}_{c}.onnx"
                    onnx.save(model(params, dtype, shape), mp)
                    center = RNG.uniform(-4, 4, shape).astype(dtype)
                    radius = (RNG.uniform(0, 0.5, shape) * (RNG.uniform(0, 1, shape) < 0.7)).astype(dtype)
                    lo, hi = (center - radius).astype(dtype), (center + radius).astype(dtype)
                    bp = tmp / "box.json"
                    # json writes each float as its shortest round-trip decimal (repr).
                    bp.write_text(json.dumps({
                        "shape": list(shape),
                        "lo": [float(x) for x in lo.ravel()],
                        "hi": [float(x) for x in hi.ravel()],
                    }))
                    dep = bnbound_ibp(exe, mp, bp, "deployed")
                    real = bnbound_ibp(exe, mp, bp, "real")
                    dlo, dhi = as_dtype(dep["lo"], dtype), as_dtype(dep["hi"], dtype)
                    rlo, rhi = as_dtype(real["lo"], dtype), as_dtype(real["hi"], dtype)
                    inputs = [lo, hi] + [
                        (lo + (hi - lo) * RNG.uniform(0, 1, shape)).astype(dtype).clip(lo, hi)
                        for _ in range(6)
                    ]
                    for level, sess in sessions(mp):
                        for x in inputs:
                            y = sess.run(None, {"x": x})[0].ravel()
                            bad = (y < dlo) | (y > dhi) | np.isnan(y)
                            out_real = (y < rlo) | (y > rhi)
                            totals["checked"] += y.size
                            totals["outside_deployed"] += int(bad.sum())
                            totals["outside_real"] += int(out_real.sum())
                            if out_real.any() and dtype == np.float32:
                                i = np.flatnonzero(out_real)
                                yo = y[i].astype(np.float32).view(np.int32).astype(np.int64)
                                bo = np.where(y[i] < rlo[i], rlo[i], rhi[i]).astype(np.float32).view(np.int32).astype(np.int64)
                                worst_real = max(worst_real, int(np.abs(yo - bo).max()))
                            if bad.any():
                                i = int(np.flatnonzero(bad)[0])
                                print(f"VIOLATION {name} {dtype.__name__} C={c} level={level}: element {i} "
                                      f"output {y[i]!r} outside [{dlo[i]!r}, {dhi[i]!r}]")
        fused = conv_bn(exe, tmp)
        nchwc = nchwc_bn(exe, tmp)
        f16 = f16_any(exe, tmp)
    print(f"float16: {f16[0]} onnxruntime outputs, {f16[1]} outside the real bounds, "
          f"{f16[2]} outside pytorch-cpu's, {f16[3]} outside --runtime any's, {f16[4]} outside "
          f"onnxruntime-cpu's (any's, not replayed)")
    if f16[3] or f16[4] or f16[0] == 0:
        sys.exit(1)
    print(f"BatchNorm rewritten into an NCHWc conv by onnxruntime: {nchwc[0]} outputs, "
          f"{nchwc[1]} outside the onnxruntime-cpu bounds")
    if nchwc[1] or nchwc[0] == 0:
        sys.exit(1)
    print(f"Conv→BN fused by onnxruntime: {fused} outputs equal bit for bit to the Conv with "
          f"bnbound's replayed fold")
    print(f"onnxruntime {ort.__version__}: {totals['checked']} outputs checked, "
          f"{totals['outside_real']} outside the real bounds (f32 worst {worst_real} ulps), "
          f"{totals['outside_deployed']} outside the deployed bounds")
    if totals["outside_deployed"] or totals["checked"] == 0:
        sys.exit(1)


if __name__ == "__main__":
    main()
