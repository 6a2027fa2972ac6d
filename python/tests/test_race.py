"""Inputs written by another thread during a call.

bnbound releases the GIL while it computes, so a Python thread can write the caller's
arrays meanwhile. Every result must still be a sound bound of *some* state the input was
in (checked with the exact oracle), or a ``bnbound.Error``; never NaN, never lo > hi.

The writer flips a few fixed elements between valid values, NaN and values that make
lo > hi, one scalar assignment at a time (each holds the GIL). An element's states are
therefore the product of its lo states and its hi states; a result element is accepted when
it encloses the exact image of one valid (lo, hi) pair of that element. Elements the writer
never touches are checked per channel (they share one box per channel), by the oracle.
"""

import sys
import threading

import numpy as np
import pytest

import bnbound
from oracle import Channel, channels_of

C = 4
ROWS = 2_500  # 10,000 elements: long enough a computation for the writer to run in it
CALLS = 120


def params(dtype):
    return (np.array([1.5, -0.75, 0.0, 2.0 ** -3], dtype),
            np.array([0.5, -1.0, 2.0, 0.0], dtype),
            np.array([0.25, 1.0, -3.0, 0.0], dtype),
            np.array([1.0, 0.5, 2.0, 0.0], dtype),
            dtype(1e-5) if dtype == np.float64 else np.float32(1e-5))


class Race:
    """Base arrays, the touched indices and their possible values, and a writer thread."""

    def __init__(self, rng, dtype, channels_last=True):
        """Arrays of shape (ROWS, C) (IBP's layout: channel = index % C), or (C, ROWS) (a
        form's constant with sample shape [C, ROWS]: channel = index // ROWS)."""
        n = ROWS * C
        self.dtype = dtype
        self.shape = (ROWS, C) if channels_last else (C, ROWS)
        self.channel = (np.arange(n) % C) if channels_last else (np.arange(n) // ROWS)
        base_lo = np.array([-1.0, 0.5, -2.0, 3.0], dtype)
        base_hi = np.array([1.0, 0.75, 4.0, 3.0], dtype)
        spread = np.tile if channels_last else np.repeat
        self.lo = spread(base_lo, ROWS).reshape(self.shape)
        self.hi = spread(base_hi, ROWS).reshape(self.shape)
        self.base = (base_lo, base_hi)
        self.touched = np.sort(rng.choice(n, size=32, replace=False))
        # lo states: base, another valid value, NaN, above hi; hi states likewise.
        # Indices 0, 1 of each list are valid values, 2, 3 are not.
        self.lo_vals = {}
        self.hi_vals = {}
        flat_lo, flat_hi = self.lo.reshape(-1), self.hi.reshape(-1)
        for i in self.touched:
            a, b = flat_lo[i], flat_hi[i]
            self.lo_vals[i] = [a, a - dtype(1), dtype(np.nan), b + dtype(8)]
            self.hi_vals[i] = [b, b + dtype(1), dtype(np.nan), a - dtype(8)]
        self.stop = threading.Event()
        self.go = threading.Event()  # set while a call runs: the checks run undisturbed
        self.writes = 0

    def valid_pairs(self, i):
        return [(float(a), float(b)) for a in self.lo_vals[i] for b in self.hi_vals[i]
                if a <= b]  # NaN compares false

    def writer(self, seed):
        """Valid values most of the time: each bad value (NaN, lo > hi) is followed by one
        other write and then undone, so that calls see both sound and invalid states."""
        rng = np.random.default_rng(seed)
        arrays = (self.lo.reshape(-1), self.hi.reshape(-1))
        values = (self.lo_vals, self.hi_vals)
        picks = rng.integers(0, 1 << 30, size=(4096, 3))
        k = 0
        while not self.stop.is_set():
            self.go.wait()
            p, q, r = (int(x) for x in picks[k % 4096])
            k += 1
            i = self.touched[p % len(self.touched)]
            j = self.touched[q % len(self.touched)]
            side, other = (p >> 20) & 1, (q >> 20) & 1
            arrays[side][i] = values[side][i][2 + (r & 1)]  # NaN or lo > hi
            arrays[other][j] = values[other][j][(r >> 1) & 1]  # a valid value
            arrays[side][i] = values[side][i][(r >> 2) & 1]  # undone (a valid value)
            self.writes += 3

    def __enter__(self):
        self.old_interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)  # hand the GIL over as soon as it is released
        self.thread = threading.Thread(target=self.writer, args=(1,), daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.go.set()
        self.thread.join()
        sys.setswitchinterval(self.old_interval)
        flat_lo, flat_hi = self.lo.reshape(-1), self.hi.reshape(-1)
        for i in self.touched:  # back to the base state
            flat_lo[i], flat_hi[i] = self.lo_vals[i][0], self.hi_vals[i][0]


def box_failures(race, chs, ylo, yhi, offset=True):
    """Element failures of one result: (index, why); empty when the result is a sound bound
    of some state of the input."""
    bad = []
    fl, fh = ylo.reshape(-1), yhi.reshape(-1)
    mask = np.ones(fl.size, bool)
    mask[race.touched] = False
    for c in range(C):
        m = mask & (race.channel == c)
        l, h = float(race.base[0][c]), float(race.base[1][c])
        worst_lo, worst_hi = np.max(fl[m]), np.min(fh[m])  # NaN propagates into both
        if not chs[c].lower_ok(worst_lo, l, h, offset):
            bad.append((f"untouched channel {c}", "lo", worst_lo))
        if not chs[c].upper_ok(worst_hi, l, h, offset):
            bad.append((f"untouched channel {c}", "hi", worst_hi))
    for i in race.touched:
        ch = chs[race.channel[i]]
        if not any(ch.lower_ok(fl[i], a, b, offset) and ch.upper_ok(fh[i], a, b, offset)
                   for a, b in race.valid_pairs(i)):
            bad.append((int(i), (fl[i], fh[i])))
    return bad


def run_calls(race, call, check):
    errors = sound = 0
    failures = []
    with race:
        for _ in range(CALLS):
            race.go.set()
            try:
                r = call(race.lo, race.hi)
            except bnbound.Error:
                errors += 1
                continue
            finally:
                race.go.clear()
            bad = check(r)
            if bad:
                failures.append(bad[:3])
            else:
                sound += 1
    assert race.writes > 0
    print(f"{errors} errors, {sound} sound results, {race.writes} writes")
    assert not failures, (f"{len(failures)} of {CALLS} results are not a sound bound of any "
                          f"state of the input (errors {errors}, sound {sound}): {failures[:3]}")
    return errors, sound


ENTRY_POINTS = ["ibp", "ibp_out", "ibp_deployed", "derivative", "derivative_out", "compose",
                "check_ibp", "check_derivative"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_input_written_by_another_thread_gives_an_error_or_a_sound_bound(rng, dtype, entry):
    p = params(dtype)
    chs = channels_of(*p)
    bn = bnbound.BatchNorm(*p)
    enc = bn.enclose()
    race = Race(rng, dtype, channels_last=entry != "compose")
    out = (np.empty(race.shape, dtype), np.empty(race.shape, dtype))
    offset = not entry.startswith("derivative")
    ones = np.ones((race.lo.size, 1), dtype)
    # A claim sound for every valid state: the bounds of the hull of them all.
    hull_lo, hull_hi = race.lo.copy(), race.hi.copy()
    for i in race.touched:
        hull_lo.reshape(-1)[i] = min(a for a, _ in race.valid_pairs(i))
        hull_hi.reshape(-1)[i] = max(b for _, b in race.valid_pairs(i))
    claim = {"check_ibp": enc.ibp, "check_derivative": enc.derivative}.get(
        entry, lambda *_: None)(hull_lo, hull_hi)
    calls = {
        "ibp": lambda l, h: enc.ibp(l, h),
        "ibp_out": lambda l, h: enc.ibp(l, h, out=out),
        "ibp_deployed": lambda l, h: enc.ibp(l, h, semantics="deployed", runtime="pytorch-cpu"),
        "derivative": lambda l, h: enc.derivative(l, h),
        "derivative_out": lambda l, h: enc.derivative(l, h, order=2, out=out),
        # The constant of the form: c' = s·c + o, the IBP of c (reshape(-1) is a view).
        "compose": lambda l, h: enc.compose(ones, ones, l.reshape(-1), h.reshape(-1),
                                            shape=[C, ROWS])[2:],
        "check_ibp": lambda l, h: bnbound.check_ibp(bn, l, h, *claim),
        "check_derivative": lambda l, h: bnbound.check_derivative(bn, l, h, *claim),
    }

    def check(r):
        if entry.startswith("check"):  # the claim is sound for every state of the input
            return [] if r.sound and r.checked == race.lo.size else [repr(r)]
        # Deployed bounds contain the real image as well as PyTorch's outputs: the real
        # image is what they are checked against here (test_deployed checks the recipe).
        return box_failures(race, chs, r[0], r[1], offset)

    run_calls(race, calls[entry], check)
