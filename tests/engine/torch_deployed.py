#!/usr/bin/env python3
"""Engine test of deployed-float semantics for PyTorch: torch's real CPU
BatchNorm outputs against bnbound's deployed bounds.

For BatchNorm1d (inputs (N, C) and (N, C, L)), BatchNorm2d and BatchNorm3d in eval mode, in
float32, float64, float16 and bfloat16, on contiguous inputs, channels-last ones
(channels_last, channels_last_3d) and strided views that are neither (a transposed copy
transposed back: PyTorch's non-contiguous fallback), with torch.set_flush_denormal off and
on, on typical and hard statistics (σ² = 0 with ε = 1e-7, tiny variances, large scales,
cancellation, and subnormal inputs, γ, β and μ, which set_flush_denormal(True) reads as 0
and whose tiny results it flushes), every output at the box endpoints and
at random interior points must lie inside

    bnbound ibp --params P --input BOX --semantics deployed --runtime pytorch-cpu
    bnbound ibp --params P --input BOX --semantics deployed --runtime any

(exit 1 otherwise); the same for float32 BatchNorm2d compiled by torch.compile's default
CPU backend (inductor), contiguous and channels_last. It counts the outputs checked with flushing off and on, and the outputs
that differ between the two (the flush cases that matter). It also counts the outputs outside the real bounds and, with --old
PATH/TO/bnbound, outside another binary's pytorch-cpu bounds (to compare two builds).

Usage: torch_deployed.py PATH/TO/bnbound [--old PATH/TO/old-bnbound]
"""
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

RNG = np.random.default_rng(20261205)
DTYPES = {"f32": torch.float32, "f64": torch.float64, "f16": torch.float16, "bf16": torch.bfloat16}
MODULES = {1: torch.nn.BatchNorm1d, 2: torch.nn.BatchNorm2d, 3: torch.nn.BatchNorm3d}


def to_dtype(a, name):
    """The values of `a` (float64) converted to the dtype, returned exactly as float64."""
    return torch.tensor(np.asarray(a, np.float64)).to(DTYPES[name]).to(torch.float64).numpy()


def bf16_nearest(d):
    """RN_bf16 (ties to even) of a float64 array (the parsed shortest decimals of bf16
    values, e.g. "1.2e4" for 12032, a tie between 11968 and 12032): the nearer of the two
    bf16 neighbours of its f32 rounding (exact float64 differences), the even one on a tie."""
    f = np.asarray(d, np.float64).astype(np.float32)
    bits = f.view(np.uint32) & np.uint32(0xFFFF0000)
    lo = bits.view(np.float32).astype(np.float64)
    hi = (bits + np.uint32(0x10000)).view(np.float32).astype(np.float64)
    dlo, dhi = np.abs(lo - d), np.abs(hi - d)
    lo_even = (bits >> np.uint32(16)) & np.uint32(1) == 0
    pick = np.where((dhi < dlo) | ((dhi == dlo) & ~lo_even), hi, lo)
    return np.where(np.isfinite(d) & np.isfinite(f), pick, d)


def parse(values, name):
    d = np.array([float(x) for x in values], dtype=np.float64)
    if name == "bf16":
        return bf16_nearest(d)
    np_t = {"f32": np.float32, "f64": np.float64, "f16": np.float16}[name]
    return d.astype(np_t).astype(np.float64)


def layers(c, name):
    """(label, gamma, beta, mean, var, eps) in float64, before conversion to the dtype."""
    out = [("typical", RNG.uniform(0.5, 1.5, c) * RNG.choice([-1, 1], c),
            RNG.uniform(-0.3, 0.3, c), RNG.uniform(-1, 1, c), RNG.uniform(0.001, 0.3, c), 1e-5)]
    g, m, v = RNG.uniform(0.5, 2, c), RNG.uniform(1, 8, c), RNG.uniform(0.01, 4, c)
    out.append(("cancellation", g, m * g / np.sqrt(v + 1e-5), m, v, 1e-5))
    # σ² = 0 and a tiny ε (a subnormal in f16), next to tiny variances.
    v = np.where(RNG.uniform(0, 1, c) < 0.5, 0.0, RNG.uniform(0, 1e-6, c))
    out.append(("zero_var_eps1e-7", RNG.uniform(-2, 2, c), RNG.uniform(-1, 1, c),
                RNG.uniform(-1, 1, c), v, 1e-7))
    big = 300.0 if name == "f16" else 1e6  # f16 outputs stay below 65504
    out.append(("large_scale", RNG.uniform(-2, 2, c) * big, RNG.uniform(-1, 1, c) * big,
                RNG.uniform(-4, 4, c), RNG.uniform(0.5, 2, c), 1e-3))
    # Subnormal inputs, γ (some channels), β and μ, a tiny normal σ² and
    # ε = 0, so that with set_flush_denormal on the CPU reads them as 0 (x86 DAZ) and
    # flushes tiny results (FTZ); inputs are drawn at TINY[name] scale (see main).
    t = TINY[name]
    g = RNG.uniform(0.5, 1.5, c) * RNG.choice([-1, 1], c)
    g = np.where(RNG.uniform(0, 1, c) < 0.3, t * RNG.uniform(0.5, 4, c), g)
    out.append(("subnormal", g, t * RNG.uniform(-1, 1, c), t * RNG.uniform(-1, 1, c),
                np.full(c, VAR_TINY[name]), 0.0))
    return out


# A subnormal scale of each dtype (f16's subnormals are normal f32 values: unaffected), and
# a tiny normal variance whose 1/√σ² makes the outputs of subnormal inputs normal or tiny.
TINY = {"f32": 1e-40, "f64": 1e-310, "bf16": 1e-39, "f16": 1e-6}
VAR_TINY = {"f32": 1e-30, "f64": 1e-300, "bf16": 1e-30, "f16": 1e-4}


def shapes(c):
    return [(1, (3, c)), (1, (2, c, 5)), (2, (2, c, 3, 4)), (3, (2, c, 2, 3, 2))]


def layouts(x, dim, rank):
    yield "contiguous", x
    if rank == 4:
        yield "channels_last", x.contiguous(memory_format=torch.channels_last)
    if rank == 5:
        yield "channels_last_3d", x.contiguous(memory_format=torch.channels_last_3d)
    if rank >= 3:
        s = x.transpose(0, -1).contiguous().transpose(0, -1)
        assert not s.is_contiguous()
        assert not s.is_contiguous(memory_format=torch.channels_last)
        assert not s.is_contiguous(memory_format=torch.channels_last_3d)
        yield "strided", s


def bnbound(exe, pp, bp, runtime):
    """The bounds, or None where bnbound refuses because the runtime may compute NaN (any's
    error model on f16 can store a tiny σ² + ε as 0): no bound, nothing to check."""
    args = [exe, "ibp", "--params", str(pp), "--input", str(bp), "--semantics"]
    args += ["real"] if runtime is None else ["deployed", "--runtime", runtime]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode == 2 and "computes NaN" in r.stderr and runtime == "any":
        return None
    if r.returncode != 0:
        sys.exit(f"bnbound {runtime} failed ({r.returncode}) on {pp.read_text()[:300]}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def write_case(tmp, name, label, params, e, shape):
    """Writes PARAMS (the dtype's values `params`, ε `e`) and a random BOX of `shape` (at
    the subnormal scale for the "subnormal" layers) into `tmp`; returns (pp, bp, lo, hi)."""
    pp = tmp / "params.json"
    pp.write_text(json.dumps({"dtype": name, "eps": e, **{
        k: [float(x) for x in a] for k, a in
        zip(["gamma", "beta", "running_mean", "running_var"], params)}}))
    scale = 4.0 * TINY[name] if label == "subnormal" else 4.0
    center = to_dtype(RNG.uniform(-scale, scale, shape), name)
    radius = RNG.uniform(0, 0.5, shape) * (RNG.uniform(0, 1, shape) < 0.7) * (scale / 4.0)
    lo = to_dtype(center - radius, name)
    hi = np.maximum(to_dtype(center + radius, name), lo)
    bp = tmp / "box.json"
    bp.write_text(json.dumps({"shape": list(shape), "lo": [float(x) for x in lo.ravel()],
                              "hi": [float(x) for x in hi.ravel()]}))
    return pp, bp, lo, hi


def compiled(exe, tmp):
    """torch.compile's default CPU backend (inductor, which decomposes eval BatchNorm into
    its own arithmetic): float32 BatchNorm2d on every layer kind, contiguous and
    channels_last, flushing off and on; every output at the box endpoints and interior
    points must lie inside the pytorch-cpu and any bounds. Returns (checked, outside,
    outputs that differ from eager torch)."""
    import torch.nn.functional as F

    name, dt, c, shape = "f32", torch.float32, 17, (2, 17, 3, 4)
    checked, bad, differ = 0, 0, 0
    fns = {}
    for label, g, b, m, v, eps in layers(c, name):
        p = [to_dtype(a, name) for a in (g, b, m, v)]
        pp, bp, lo, hi = write_case(tmp, name, label, p, float(np.float32(eps)), shape)
        bounds = {rt: bnbound(exe, pp, bp, rt) for rt in ("pytorch-cpu", "any")}
        bounds = {rt: (parse(o["lo"], name), parse(o["hi"], name)) for rt, o in bounds.items() if o}
        if eps not in fns:
            fns[eps] = torch.compile(lambda x, w, b_, m_, v_, eps=eps: F.batch_norm(x, m_, v_, w, b_, False, 0.0, eps))
        w, bb, mm, vv = (torch.tensor(a).to(dt) for a in p)
        inputs = [lo, hi] + [to_dtype(np.clip(lo + (hi - lo) * RNG.uniform(0, 1, shape), lo, hi), name)
                             for _ in range(4)]
        xts = [torch.tensor(x).to(dt) for x in inputs]
        for flush in (False, True):
            assert torch.set_flush_denormal(flush) or not flush
            for xt in xts:
                for layout, xl in layouts(xt, 2, len(shape)):
                    if layout == "strided":
                        continue
                    with torch.no_grad():
                        out = fns[eps](xl, w, bb, mm, vv)
                        eager = F.batch_norm(xl, mm, vv, w, bb, False, 0.0, eps)
                    torch.set_flush_denormal(False)
                    y = out.to(torch.float64).numpy().ravel()
                    differ += int((y != eager.to(torch.float64).numpy().ravel()).sum())
                    torch.set_flush_denormal(flush)
                    checked += y.size
                    for rt, (blo, bhi) in bounds.items():
                        outside = (y < blo.ravel()) | (y > bhi.ravel()) | np.isnan(y)
                        if outside.any():
                            bad += int(outside.sum())
                            i = int(np.flatnonzero(outside)[0])
                            print(f"VIOLATION torch.compile f32 {label} {layout} flush={flush} --runtime {rt}: "
                                  f"element {i} output {y[i]!r} outside [{blo.ravel()[i]!r}, {bhi.ravel()[i]!r}]")
        torch.set_flush_denormal(False)
    return checked, bad, differ


def main():
    exe = sys.argv[1]
    old = sys.argv[sys.argv.index("--old") + 1] if "--old" in sys.argv else None
    start = time.time()
    checked, bad, out_real, out_old, refused = 0, 0, 0, {}, 0
    by_flush, differ = {False: 0, True: 0}, 0
    by_path = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, dt in DTYPES.items():
            for c in (3, 17):
                for dim, shape in shapes(c):
                    for label, g, b, m, v, eps in layers(c, name):
                        p = [to_dtype(a, name) for a in (g, b, m, v)]
                        if label == "subnormal" and name != "f16":
                            # The parameters really are subnormal (not flushed on the way).
                            assert (np.abs(p[1]) < np.finfo(np.float32 if name != "f64" else np.float64).tiny).all()
                            assert (p[1] != 0).any()
                        # ε: PyTorch's fast path uses static_cast<opmath_t>(eps); f64 keeps it.
                        e = eps if name == "f64" else float(np.float32(eps))
                        pp, bp, lo, hi = write_case(tmp, name, label, p, e, shape)
                        bounds = {}
                        for rt in ("pytorch-cpu", "any", None):
                            o = bnbound(exe, pp, bp, rt)
                            if o is None:
                                refused += 1
                                continue
                            bounds[rt] = (parse(o["lo"], name), parse(o["hi"], name))
                        if old is not None:
                            o = bnbound(old, pp, bp, "pytorch-cpu")
                            bounds["old"] = (parse(o["lo"], name), parse(o["hi"], name))
                        inputs = [lo, hi] + [to_dtype(np.clip(lo + (hi - lo) * RNG.uniform(0, 1, shape), lo, hi), name)
                                             for _ in range(4)]
                        mod = MODULES[dim](c, eps=eps).to(dt).eval()
                        with torch.no_grad():
                            for t, a in zip((mod.weight, mod.bias, mod.running_mean, mod.running_var), p):
                                t.copy_(torch.tensor(a))
                        seen = {}
                        # Converted with flushing off (a conversion under FTZ flushes too).
                        xts = [torch.tensor(x).to(dt) for x in inputs]
                        for x, xt in zip(inputs, xts):
                            assert np.array_equal(xt.to(torch.float64).numpy(), x)
                        for flush in (False, True):
                            assert torch.set_flush_denormal(flush) or not flush
                            for xi, xt in enumerate(xts):
                                for layout, xl in layouts(xt, dim, len(shape)):
                                    with torch.no_grad():
                                        out = mod(xl)
                                    # Read back with flushing off (the conversion would flush).
                                    torch.set_flush_denormal(False)
                                    y = out.to(torch.float64).numpy().ravel()
                                    torch.set_flush_denormal(flush)
                                    checked += y.size
                                    by_flush[flush] += y.size
                                    if flush:
                                        differ += int((y != seen[(xi, layout)]).sum())
                                    else:
                                        seen[(xi, layout)] = y
                                    key = (name, layout)
                                    by_path[key] = by_path.get(key, 0) + y.size
                                    for rt, (blo, bhi) in bounds.items():
                                        outside = (y < blo.ravel()) | (y > bhi.ravel()) | np.isnan(y)
                                        if rt is None:
                                            out_real += int(outside.sum())
                                        elif rt == "old":
                                            out_old[key] = out_old.get(key, 0) + int(outside.sum())
                                        elif outside.any():
                                            bad += int(outside.sum())
                                            i = int(np.flatnonzero(outside)[0])
                                            print(f"VIOLATION {name} {label} BatchNorm{dim}d {shape} {layout} "
                                                  f"flush={flush} --runtime {rt}: element {i} output {y[i]!r} "
                                                  f"outside [{blo.ravel()[i]!r}, {bhi.ravel()[i]!r}]")
                        # Conversions (to_dtype, torch.tensor) flush too: the next layer's
                        # subnormal parameters and inputs need flushing off.
                        torch.set_flush_denormal(False)
        torch.set_flush_denormal(False)
        t0 = time.time()
        c_checked, c_bad, c_differ = compiled(exe, tmp)
        print(f"torch.compile (inductor, CPU): {c_checked} float32 BatchNorm2d outputs in "
              f"{time.time() - t0:.0f}s, {c_differ} differ from eager torch, {c_bad} outside the "
              f"deployed (pytorch-cpu, any) bounds")
        checked += c_checked
        bad += c_bad
    for key in sorted(by_path):
        extra = f", {out_old[key]} outside the old pytorch-cpu bounds" if old is not None else ""
        print(f"  {key[0]:>4} {key[1]:<16} {by_path[key]} outputs{extra}")
    print(f"torch {torch.__version__} ({torch.backends.cpu.get_cpu_capability()}): {checked} outputs "
          f"checked in {time.time() - start:.0f}s, {out_real} outside the real bounds, {bad} outside "
          f"the deployed (pytorch-cpu, any) bounds; --runtime any refused {refused} boxes (NaN possible); "
          f"{by_flush[False]} with set_flush_denormal off, {by_flush[True]} on, {differ} differ between the two")
    if bad or checked == 0:
        sys.exit(1)


if __name__ == "__main__":
    main()
