"""mode="tight": with an MPFR build (bnbound.HAS_TIGHT), every IBP bound is the tightest
float bound (the oracle accepts it and rejects the next float inward); without it, the
mode is refused with a message saying how to build it. Exactly one of the two runs."""

import numpy as np
import pytest

import bnbound
from conftest import DTYPES, cancelling_box, random_layer
from oracle import channel_index, channels_of


def test_tight_mode_or_a_clear_error(rng):
    bn = bnbound.BatchNorm([1.0], [0.0], [0.0], [3.0], 0.0)
    if not bnbound.HAS_TIGHT:
        with pytest.raises(bnbound.Error, match="--features mpfr"):
            bn.enclose(mode="tight")
        return
    for dtype in DTYPES:
        for _ in range(60):
            c = int(rng.integers(1, 4))
            params = random_layer(rng, dtype, c)
            chs = channels_of(*params)
            enc = bnbound.BatchNorm(*params).enclose(mode="tight")
            assert enc.mode == "tight"
            lo, hi = cancelling_box(rng, dtype, (2, c), *params, ch_axis=1)
            ylo, yhi = enc.ibp(lo, hi)
            flo, fhi = bnbound.BatchNorm(*params).enclose().ibp(lo, hi)
            assert (flo <= ylo).all() and (yhi <= fhi).all()
            for i in range(lo.size):
                ch = chs[channel_index(lo.shape, i)]
                l, h = lo.flat[i], hi.flat[i]
                assert ch.lower_ok(ylo.flat[i], l, h) and ch.upper_ok(yhi.flat[i], l, h)
                with np.errstate(over="ignore"):
                    up, down = np.nextafter(ylo.flat[i], dtype(np.inf)), np.nextafter(yhi.flat[i], dtype(-np.inf))
                if np.isfinite(ylo.flat[i]) or ylo.flat[i] < 0:
                    assert not ch.lower_ok(up, l, h), (i, params)
                if np.isfinite(yhi.flat[i]) or yhi.flat[i] > 0:
                    assert not ch.upper_ok(down, l, h), (i, params)
