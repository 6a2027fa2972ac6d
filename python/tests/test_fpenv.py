"""The caller's floating-point environment: with MXCSR's flush-to-zero
and denormals-are-zero bits set in the calling thread (``torch.set_flush_denormal(True)``,
or any library built with ``-ffast-math``), every bound must still be sound, and MXCSR
must be exactly as the caller left it after every call, including calls that raise.

bnbound's entry points run under the default environment and restore the caller's MXCSR
(the library's bnbound::DefaultFpEnv, opened by the package's entry points too), which also
covers the package's own conversions (numpy casts of
lists, ε and scalar extraction), not only the library's kernels.

MXCSR is per thread: the helper (a few lines of C compiled with gcc at test time, loaded
with ctypes) sets it in the thread that then calls bnbound. Data is generated and the
oracle runs with FTZ/DAZ off (numpy's and Python's own float operations would flush
subnormals too); only the bnbound calls run with them on.
"""

import ctypes
import platform
import subprocess

import numpy as np
import pytest

import bnbound
from conftest import cancelling_box, hard_value, random_layer
from oracle import Channel, channels_of, check_box

X86_64 = platform.machine().lower() in ("x86_64", "amd64")
pytestmark = pytest.mark.skipif(
    not X86_64, reason=f"MXCSR (FTZ/DAZ) is x86-64's; this machine is {platform.machine()}")

FTZ_DAZ = 0x8040  # MXCSR bit 15 (flush to zero) and bit 6 (denormals are zero)
# Bits 0-5 are sticky exception flags (inexact, underflow, …) that every float operation
# may raise, the caller's own included; the rest is the environment the caller chose
# (FTZ, DAZ, rounding mode, exception masks), which a call must leave exactly as it was.
CONTROL = 0xFFC0

HELPER = r"""
#include <xmmintrin.h>
void set_ftz_daz(int on) {
    unsigned int c = _mm_getcsr();
    _mm_setcsr(on ? (c | 0x8040u) : (c & ~0x8040u));
}
unsigned int get_mxcsr(void) { return _mm_getcsr(); }
"""


@pytest.fixture(scope="module")
def mxcsr(tmp_path_factory):
    d = tmp_path_factory.mktemp("mxcsr")
    (d / "mxcsr.c").write_text(HELPER)
    so = d / "libmxcsr.so"
    subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-o", str(so), str(d / "mxcsr.c")], check=True)
    lib = ctypes.CDLL(str(so))
    lib.set_ftz_daz.argtypes = [ctypes.c_int]
    lib.get_mxcsr.restype = ctypes.c_uint
    lib.set_ftz_daz(0)
    yield lib
    lib.set_ftz_daz(0)


class Flushing:
    """Runs calls with FTZ+DAZ on in this thread; records MXCSR before and after each."""

    def __init__(self, lib):
        self.lib = lib
        self.changed = []
        self.calls = 0

    def __call__(self, f):
        self.lib.set_ftz_daz(1)
        before = self.lib.get_mxcsr()
        assert before & FTZ_DAZ == FTZ_DAZ
        try:
            return f()
        finally:
            after = self.lib.get_mxcsr()
            self.lib.set_ftz_daz(0)
            self.calls += 1
            if after & CONTROL != before & CONTROL:
                self.changed.append((hex(before), hex(after)))


def test_helper_sets_and_clears_ftz_daz_in_this_thread(mxcsr):
    mxcsr.set_ftz_daz(1)
    tiny = np.float32(np.finfo(np.float32).smallest_subnormal)
    flushed = np.float32(tiny * np.float32(1.0))  # DAZ reads the subnormal as 0
    on = mxcsr.get_mxcsr()
    mxcsr.set_ftz_daz(0)
    assert on & FTZ_DAZ == FTZ_DAZ and mxcsr.get_mxcsr() & FTZ_DAZ == 0
    assert flushed == 0 and tiny * np.float32(1.0) == tiny


def test_ftz_daz_anchor_subnormal_gamma_with_an_unbounded_box(mxcsr):
    # f32 γ = 1e-40 (subnormal), β = 0.5, box [1, ∞): y = γ·x + 0.5 is unbounded above;
    # a kernel that flushes γ to 0 returns [0.5, 0.5].
    params = (np.float32([1e-40]), np.float32([0.5]), np.float32([0]), np.float32([1]), np.float32(0))
    lo, hi = np.float32([1]), np.float32([np.inf])
    run = Flushing(mxcsr)
    # The layer, its enclosure (s = γ/√(σ²+ε), where a flushed γ becomes 0) and the IBP all
    # in the flushing thread.
    ylo, yhi = run(lambda: bnbound.BatchNorm(*params).enclose().ibp(lo, hi))
    assert not check_box(channels_of(*params), lo, hi, ylo, yhi), (ylo, yhi)
    assert yhi[0] == np.inf
    assert not run.changed


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flush_to_zero_in_the_callers_thread_keeps_every_bound_sound(mxcsr, rng, dtype):
    run = Flushing(mxcsr)
    unsound = []
    refused = []
    errors = 0
    for trial in range(120):
        c = int(rng.integers(1, 5))
        params = list(random_layer(rng, dtype, c))
        # Subnormal γ and β in every layer, subnormal inputs in every box.
        params[0][0] = hard_value(rng, dtype, kind=1)
        params[1][-1] = hard_value(rng, dtype, kind=1)
        params = tuple(params)
        shape = (2, c, 3)
        lo, hi = cancelling_box(rng, dtype, shape, *params, ch_axis=1)
        sub = np.array([hard_value(rng, dtype, kind=1) for _ in range(lo.size)], dtype).reshape(shape)
        pick = rng.random(shape) < 0.3
        lo = np.where(pick, np.minimum(sub, hi), lo).astype(dtype)
        try:
            bn = run(lambda: bnbound.BatchNorm(*params))
        except bnbound.Error as e:  # valid (var + eps > 0 exactly): DAZ must not change that
            refused.append((trial, str(e)))
            bn = bnbound.BatchNorm(*params)
        enc = run(lambda: bn.enclose())
        chs = channels_of(*params)
        bad_hi = np.maximum(lo, hi)
        bad_hi.reshape(-1)[-1] = dtype(-np.inf)  # lo > hi at the last element
        bad_lo = np.maximum(lo, dtype(0))
        calls = {
            "ibp": (lambda: enc.ibp(lo, hi), True),
            "ibp deployed any": (lambda: enc.ibp(lo, hi, semantics="deployed", runtime="any"), True),
            "derivative": (lambda: enc.derivative(lo, hi), False),
        }
        if bnbound.HAS_TIGHT:
            tight = run(lambda: bn.enclose("tight"))
            calls["ibp tight"] = (lambda: tight.ibp(lo, hi), True)
        for name, (f, offset) in calls.items():
            try:
                ylo, yhi = run(f)
            except bnbound.Error:
                errors += 1  # e.g. the runtime computes NaN (0·∞) for a deployed box
                continue
            bad = check_box(chs, lo, hi, ylo, yhi, offset)
            if bad:
                unsound.append((trial, name, bad[:2]))
        # Forward composition: the constant column is an IBP of c.
        A = np.ones((c, 1), dtype)
        cl, ch = lo[0, :, 0].copy(), hi[0, :, 0].copy()
        r = run(lambda: enc.compose(A, A, cl, ch))
        bad = check_box(chs, cl, ch, r[2], r[3])
        if bad:
            unsound.append((trial, "compose", bad[:2]))
        # Calls that raise leave MXCSR alone too.
        for f in (lambda: enc.ibp(bad_lo, bad_hi),
                  lambda: bnbound.BatchNorm(params[0], params[1], params[2], -np.abs(params[3]) - 1, params[4]),
                  lambda: enc.ibp(lo, hi, semantics="deployed", runtime="any", ulps=bnbound.MAX_ULPS + 1)):
            with pytest.raises(bnbound.Error):
                run(f)
    assert run.calls > 700
    assert not run.changed, f"MXCSR changed by {len(run.changed)} of {run.calls} calls: {run.changed[:3]}"
    assert not refused, f"{len(refused)} valid layers refused with FTZ/DAZ on: {refused[:3]}"
    assert not unsound, f"{len(unsound)} unsound results with FTZ/DAZ on (errors {errors}): {unsound[:3]}"


def test_conversions_in_the_package_ignore_ftz_daz(mxcsr):
    # A list of float32 subnormals for a float64 layer (converted by numpy), a float32
    # subnormal ε (a numpy scalar), and ε read back: exact, as with FTZ/DAZ off.
    run = Flushing(mxcsr)
    tiny = np.float32(np.finfo(np.float32).smallest_subnormal)
    enc = bnbound.BatchNorm([1.0], [0.0], [0.0], [0.0], 2.0 ** -1074).enclose()
    a, b = [tiny * np.float32(3)], [tiny * np.float32(5)]  # made with FTZ/DAZ off
    got = run(lambda: enc.ibp(a, b))
    ref = enc.ibp(np.array([float(tiny) * 3]), np.array([float(tiny) * 5]))
    assert np.array_equal(got[0], ref[0]) and np.array_equal(got[1], ref[1])
    assert got[0][0] > 0  # 3·2⁻¹⁴⁹·2⁵³⁷ > 0: the input was not read as 0
    bn = run(lambda: bnbound.BatchNorm(np.float32([1]), np.float32([0]), np.float32([0]),
                                       np.float32([0]), tiny))
    assert run(lambda: bn.eps) == float(tiny)
    assert run(lambda: repr(bn)) == repr(bnbound.BatchNorm(np.float32([1]), np.float32([0]),
                                                           np.float32([0]), np.float32([0]), tiny))
    assert not run.changed
