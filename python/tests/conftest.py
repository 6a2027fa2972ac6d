"""Shared generators: random layers and boxes biased to the hard cases."""

import os
import sys
import zlib

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.join(REPO, "tests", "data")

DTYPES = [np.float32, np.float64]


def hard_value(rng, dtype, kind=None):
    """A value biased to what breaks naive code."""
    fi = np.finfo(dtype)
    kind = rng.integers(0, 10) if kind is None else kind
    if kind == 0:
        return dtype(0.0) * (-1 if rng.integers(2) else 1)
    if kind == 1:  # subnormal
        return dtype(fi.smallest_subnormal) * dtype(rng.integers(1, 1000)) * (-1 if rng.integers(2) else 1)
    if kind == 2:  # power of two
        return dtype(2.0 ** int(rng.integers(-30, 30))) * dtype(-1 if rng.integers(2) else 1)
    if kind == 3:  # large
        return dtype(fi.max) / dtype(2.0 ** int(rng.integers(1, 60)))
    if kind == 4:  # tiny normal
        return dtype(fi.tiny) * dtype(rng.integers(1, 50))
    return dtype(rng.normal() * 10.0 ** int(rng.integers(-3, 3)))


def random_layer(rng, dtype, c):
    """Parameters biased to zero/negative/tiny γ, var = 0, subnormals."""
    gamma = np.array([hard_value(rng, dtype) if rng.random() < 0.4 else dtype(rng.normal())
                      for _ in range(c)], dtype)
    beta = np.array([hard_value(rng, dtype) if rng.random() < 0.3 else dtype(rng.normal())
                     for _ in range(c)], dtype)
    mean = np.array([hard_value(rng, dtype) if rng.random() < 0.3 else dtype(rng.normal())
                     for _ in range(c)], dtype)
    var = np.abs(np.array([hard_value(rng, dtype) if rng.random() < 0.3 else dtype(rng.random())
                           for _ in range(c)], dtype))
    var[rng.random(c) < 0.2] = 0
    eps = dtype(1e-5) if rng.random() < 0.7 else dtype(np.finfo(dtype).smallest_subnormal * 3)
    return gamma, beta, mean, var, eps


def cancelling_box(rng, dtype, shape, gamma, beta, mean, var, eps, ch_axis):
    """Boxes with unbounded endpoints, points, and inputs where s·x + o nearly cancels."""
    n = int(np.prod(shape))
    lo = np.empty(n, dtype)
    hi = np.empty(n, dtype)
    flat_ch = np.indices(shape)[ch_axis].reshape(-1)
    with np.errstate(all="ignore"):
        s = (gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + float(eps)))
        o = beta.astype(np.float64) - mean.astype(np.float64) * s
    with np.errstate(all="ignore"):  # the generator's own float64 arithmetic may overflow
        for i in range(n):
            c = flat_ch[i]
            k = rng.integers(0, 8)
            if k == 0 and s[c] != 0 and abs(o[c] / s[c]) < np.finfo(dtype).max:
                x = dtype(-o[c] / s[c])  # y ≈ 0: cancellation
                a, b = x, x
            elif k == 1:
                a, b = dtype(-np.inf), dtype(rng.normal())
            elif k == 2:
                a, b = dtype(rng.normal()), dtype(np.inf)
            elif k == 3:
                a = b = hard_value(rng, dtype)
            else:
                a, b = dtype(rng.normal() * 3), dtype(rng.normal() * 3)
            if not (a <= b):
                a, b = b, a
            lo[i], hi[i] = a, b
    return lo.reshape(shape), hi.reshape(shape)


@pytest.fixture
def rng(request):
    # One fixed seed per test, from its name (stable across runs and machines).
    return np.random.default_rng(zlib.crc32(request.node.name.encode()))
