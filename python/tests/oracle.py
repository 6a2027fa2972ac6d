"""The test oracle: exact decisions with Python's ``fractions`` (and ``decimal`` with
directed rounding for sums of square roots). Independent of bnbound: it never calls it.

A channel computes y(x) = γ(x − μ)/√q + β with q = σ² + ε, all values exact rationals
of the stored floats. ``L ≤ y(x)`` is decided by squaring with signs:
L ≤ γ(x−μ)/√q + β  ⇔  (L − β)·√q ≤ γ(x − μ).
"""

import decimal
import math
from fractions import Fraction as F

import numpy as np


def frac(v):
    """The exact rational value of a finite float (numpy or Python)."""
    return F(float(v)) if not isinstance(v, F) else v


def sign(v):
    return (v > 0) - (v < 0)


def sign_a_sqrtq_minus_b(a, q, b):
    """sign(a·√q − b) for rationals a, b and q > 0, exactly."""
    sa, sb = sign(a), sign(b)
    if sa >= 0 and sb <= 0:
        return 0 if sa == 0 and sb == 0 else 1
    if sa <= 0 and sb >= 0:
        return -1
    if sa > 0:  # both positive
        return sign(a * a * q - b * b)
    return sign(b * b - a * a * q)  # both negative


class Channel:
    """One channel's exact parameters (γ, β, μ, q = σ² + ε)."""

    def __init__(self, g, b, m, v, e):
        self.g, self.b, self.m = frac(g), frac(b), frac(m)
        self.q = frac(v) + frac(e)
        assert self.q > 0

    def extreme_x(self, l, h, lower):
        """The endpoint where y is least (lower) or greatest: y is monotone in x."""
        if self.g == 0:
            return None
        return l if (self.g > 0) == lower else h

    def lower_ok(self, bound, l, h, offset=True):
        """bound ≤ min over x ∈ [l, h] of γ(x−μ)/√q (+ β if offset)."""
        return self._ok(bound, l, h, True, offset)

    def upper_ok(self, bound, l, h, offset=True):
        return self._ok(bound, l, h, False, offset)

    def _ok(self, bound, l, h, lower, offset):
        bound = float(bound)
        if math.isnan(bound):
            return False
        b = self.b if offset else F(0)
        m = self.m if offset else F(0)
        x = self.extreme_x(float(l), float(h), lower)
        if x is None:  # y ≡ β (or 0)
            if math.isinf(bound):
                return (bound < 0) == lower
            return frac(bound) <= b if lower else frac(bound) >= b
        if math.isinf(x):  # the image reaches ±∞ there (x = ±∞ is in the box)
            v = math.inf if (self.g > 0) == (x > 0) else -math.inf
            return bound <= v if lower else bound >= v
        if math.isinf(bound):
            return (bound < 0) == lower
        s = sign_a_sqrtq_minus_b(frac(bound) - b, self.q, self.g * (frac(x) - m))
        return s <= 0 if lower else s >= 0


def channels_of(gamma, beta, mean, var, eps):
    return [Channel(g, b, m, v, eps) for g, b, m, v in zip(gamma, beta, mean, var)]


def channel_index(shape, flat):
    """The channel of a flat row-major index for bnbound's layout (axis 1; 0 for rank 1)."""
    if len(shape) == 1:
        return flat
    inner = int(np.prod(shape[2:], dtype=np.int64)) if len(shape) > 2 else 1
    return (flat // inner) % shape[1]


def check_box(chs, lo, hi, ylo, yhi, offset=True):
    """Every output bound encloses the exact image; returns the list of failures."""
    bad = []
    shape = lo.shape
    fl, fh, gl, gh = (a.reshape(-1) for a in (lo, hi, ylo, yhi))
    for i in range(fl.size):
        ch = chs[channel_index(shape, i)]
        if not ch.lower_ok(gl[i], fl[i], fh[i], offset):
            bad.append((i, "lo"))
        if not ch.upper_ok(gh[i], fl[i], fh[i], offset):
            bad.append((i, "hi"))
    return bad


# --- sums of square roots: decimal intervals with directed rounding, escalating -------


def _dec_interval(fr, ctx_lo, ctx_hi):
    n, d = decimal.Decimal(fr.numerator), decimal.Decimal(fr.denominator)
    return ctx_lo.divide(n, d), ctx_hi.divide(n, d)


def _isqrt_exact(fr):
    """√fr as a Fraction when fr is a square of a rational, else None."""
    n, d = fr.numerator, fr.denominator
    rn, rd = math.isqrt(n), math.isqrt(d)
    return F(rn, rd) if rn * rn == n and rd * rd == d else None


def offset_sum_interval(terms, const, digits):
    """An interval [lo, hi] (Decimals) containing const + Σ w·(β − μ·γ/√q) for the terms
    (w, Channel), computed with `digits` digits and directed rounding."""
    lo_ctx = decimal.Context(prec=digits, rounding=decimal.ROUND_FLOOR)
    hi_ctx = decimal.Context(prec=digits, rounding=decimal.ROUND_CEILING)
    exact = F(const)
    acc_lo = acc_hi = decimal.Decimal(0)
    for w, ch in terms:
        exact += w * ch.b
        r = _isqrt_exact(ch.q)
        t = -w * ch.m * ch.g  # times 1/√q
        if r is not None:
            exact += t / r
            continue
        # 1/√q = √q / q; √q correctly rounded (half even) is within half an ulp.
        sctx = decimal.Context(prec=digits)
        ql, qh = _dec_interval(ch.q, lo_ctx, hi_ctx)
        sl = sctx.sqrt(ql)
        sh = sctx.sqrt(qh)
        ulp_l = sl.next_minus(sctx)
        ulp_h = sh.next_plus(sctx)
        inv_lo = lo_ctx.divide(decimal.Decimal(1), ulp_h)  # 1/√q ≥ 1/(√q)_up
        inv_hi = hi_ctx.divide(decimal.Decimal(1), ulp_l)
        tl, th = _dec_interval(t, lo_ctx, hi_ctx)
        cands_lo = [lo_ctx.multiply(x, y) for x in (tl, th) for y in (inv_lo, inv_hi)]
        cands_hi = [hi_ctx.multiply(x, y) for x in (tl, th) for y in (inv_lo, inv_hi)]
        acc_lo = lo_ctx.add(acc_lo, min(cands_lo))
        acc_hi = hi_ctx.add(acc_hi, max(cands_hi))
    el, eh = _dec_interval(exact, lo_ctx, hi_ctx)
    return lo_ctx.add(acc_lo, el), hi_ctx.add(acc_hi, eh)


def offset_sum_bound_ok(terms, const, bound, lower):
    """Decides bound ≤ (lower) or ≥ the exact const + Σ w·o_c, escalating precision."""
    bound = float(bound)
    if math.isinf(bound):
        return (bound < 0) == lower
    fb = frac(bound)
    for digits in (40, 120, 400, 1500):
        lo, hi = offset_sum_interval(terms, const, digits)
        bl, bh = _dec_interval(fb, decimal.Context(prec=digits, rounding=decimal.ROUND_FLOOR),
                               decimal.Context(prec=digits, rounding=decimal.ROUND_CEILING))
        if lower:
            if bh <= lo:
                return True
            if bl > hi:
                return False
        else:
            if bl >= hi:
                return True
            if bh < lo:
                return False
    raise AssertionError("oracle undecided at 1500 digits (an exact tie of irrationals?)")


# --- float32 rounding of an exact rational (for emulating runtimes) -------------------


def round_to(fr, dtype):
    """fr correctly rounded to nearest (ties to even) in dtype (float32 or float64)."""
    f = float(fr)  # correctly rounded to float64 by Python
    if dtype == np.float64:
        return np.float64(f)
    c = np.float32(f)
    if math.isinf(c):
        return c
    cands = [np.nextafter(c, np.float32(-np.inf)), c, np.nextafter(c, np.float32(np.inf))]
    best = None
    for x in cands:
        if math.isinf(x):
            continue
        d = abs(frac(x) - fr)
        key = (d, int(np.array(x, np.float32).view(np.uint32)) & 1)
        if best is None or key < best[0]:
            best = (key, x)
    return best[1]
