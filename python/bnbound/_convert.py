"""Exact conversion of array-likes that are not numpy arrays of the layer's dtype.

Called by the Rust extension for lists, tuples, scalars and integer arrays. A value is
converted only when it is exactly a value of the target dtype; otherwise ``bnbound.Error``
names the first element that would round. No arithmetic happens here.
"""

import numpy as np

from ._native import Error


def exact_array(obj, dtype, what):
    """``obj`` as a numpy array of ``dtype`` holding exactly the same numbers."""
    dt = np.dtype(dtype)
    try:
        a = np.asarray(obj)
    except Exception as e:  # ragged lists and the like
        raise Error(f"{what}: not an array of numbers ({e})") from None
    kind = a.dtype.kind
    if kind not in "fiu":
        raise Error(f"{what}: expected numbers of dtype {dt.name}, got {a.dtype} ({type(obj).__name__})")
    if isinstance(obj, np.ndarray) and kind == "f":
        raise Error(f"{what}: expected a {dt.name} array, got {a.dtype}")
    if a.dtype == dt:
        return a
    with np.errstate(all="ignore"):
        b = a.astype(dt)
        back = b.astype(a.dtype)
    same = (back == a) | (np.isnan(back) & np.isnan(a)) if kind == "f" else (back == a)
    if kind in "iu":
        # Integers beyond 2**63 cannot come back from a float: compare as Python ints too.
        same = same & (np.abs(b) < 2.0**63)
    if not np.all(same):
        i = np.unravel_index(int(np.argmin(same)), a.shape) if a.ndim else ()
        v = (a[i] if a.ndim else a[()]).item()
        where = f"{what}[{', '.join(map(str, i))}]" if a.ndim else what
        raise Error(
            f"{where} = {v!r} is not a {dt.name} value; pass a {dt.name} array "
            "(bnbound never rounds an input silently)"
        )
    return np.ascontiguousarray(b)
