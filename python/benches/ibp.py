#!/usr/bin/env python3
"""Speed of bnbound from Python against the unsound numpy IBP that auto_LiRPA computes
(s and o in the layer's dtype, center = s·mid + o, deviation = |s|·rad), in the same run.

    python python/benches/ibp.py [--reps N]

Prints, for (1, 64, 128, 128) float32 and float64 boxes, the median time of each and the
ratio, with and without out=; the overhead of one small call (C = 64, one row) in µs; and
deployed semantics against real on float32 boxes (1, 64, 64, 64) and (256, 512) and one
small call, per runtime.
"""

import argparse
import os
import platform
import time

import numpy as np

import bnbound


def naive_ibp(w, b, lo, hi):
    shape = (1, -1) + (1,) * (lo.ndim - 2)
    mid, diff = (hi + lo) / 2, (hi - lo) / 2
    center = w.reshape(shape) * mid + b.reshape(shape)
    dev = np.abs(w).reshape(shape) * diff
    return center - dev, center + dev


def median_time(f, reps):
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def layer(dtype, c, rng):
    g = rng.uniform(0.5, 1.5, c).astype(dtype)
    b = rng.uniform(-0.3, 0.3, c).astype(dtype)
    m = rng.uniform(-1, 1, c).astype(dtype)
    v = rng.uniform(0.01, 0.3, c).astype(dtype)
    return g, b, m, v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=30)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numpy {np.__version__}, bnbound {bnbound.__version__}")
    print("| shape | dtype | numpy naive (unsound) | bnbound ibp | ratio | bnbound ibp out= | ratio |")
    print("|---|---|---|---|---|---|---|")
    for dtype in (np.float32, np.float64):
        g, b, m, v = layer(dtype, 64, rng)
        eps = dtype(1e-5)
        w = g / np.sqrt(v + eps)
        o = b - m * w
        bn = bnbound.BatchNorm(g, b, m, v, eps)
        enc = bn.enclose()
        x = rng.normal(size=(1, 64, 128, 128)).astype(dtype)
        lo, hi = x - dtype(0.01), x + dtype(0.01)
        out = (np.empty_like(lo), np.empty_like(hi))
        t_np = median_time(lambda: naive_ibp(w, o, lo, hi), args.reps)
        t_bn = median_time(lambda: enc.ibp(lo, hi), args.reps)
        t_out = median_time(lambda: enc.ibp(lo, hi, out=out), args.reps)
        print(f"| (1,64,128,128) | {np.dtype(dtype).name} | {t_np * 1e3:.2f} ms | {t_bn * 1e3:.2f} ms | "
              f"{t_bn / t_np:.2f}x | {t_out * 1e3:.2f} ms | {t_out / t_np:.2f}x |")
    print()
    print("| one small call (C = 64, one row) | dtype | numpy naive | bnbound ibp | bnbound ibp out= |")
    print("|---|---|---|---|---|")
    n = 20000
    for dtype in (np.float32, np.float64):
        g, b, m, v = layer(dtype, 64, rng)
        eps = dtype(1e-5)
        w = g / np.sqrt(v + eps)
        o = b - m * w
        enc = bnbound.BatchNorm(g, b, m, v, eps).enclose()
        lo = rng.normal(size=(1, 64)).astype(dtype)
        hi = lo + dtype(0.01)
        out = (np.empty_like(lo), np.empty_like(hi))
        per = []
        for f in (lambda: naive_ibp(w, o, lo, hi), lambda: enc.ibp(lo, hi),
                  lambda: enc.ibp(lo, hi, out=out)):
            t = time.perf_counter()
            for _ in range(n):
                f()
            per.append((time.perf_counter() - t) / n * 1e6)
        print(f"| (1, 64) | {np.dtype(dtype).name} | {per[0]:.2f} µs | {per[1]:.2f} µs | {per[2]:.2f} µs |")
    print()
    print("| float32 box | real | pytorch-cpu | onnxruntime-cpu | any (K = 2) |")
    print("|---|---|---|---|---|")
    runtimes = [{}, dict(runtime="pytorch-cpu"), dict(runtime="onnxruntime-cpu"), dict(runtime="any")]
    for shape in ((1, 64, 64, 64), (256, 512), (1, 64)):
        g, b, m, v = layer(np.float32, shape[1], rng)
        enc = bnbound.BatchNorm(g, b, m, v, np.float32(1e-5)).enclose()
        lo = rng.normal(size=shape).astype(np.float32)
        hi = lo + np.float32(0.01)
        ts = []
        for kw in runtimes:
            kw = dict(kw, semantics="deployed") if kw else kw
            enc.ibp(lo, hi, **kw)  # each semantics' constants are built once per enclosure
            ts.append(median_time(lambda: enc.ibp(lo, hi, **kw), args.reps if lo.size > 64 else n))
        cells = [f"{t * 1e6:.1f} µs ({t / ts[0]:.2f}x)" for t in ts]
        print(f"| {shape} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
