"""Exact conversion of array-likes that are not numpy arrays of the layer's dtype.

Called by the Rust extension for lists, tuples, scalars, integer arrays and torch tensors.
A value is converted only when it is exactly a value of the target dtype; otherwise
``bnbound.Error`` names the first element that would round. No arithmetic happens here.

Torch tensors (torch is never imported here: a tensor exists only if the caller imported
it) are read detached, from the CPU (a tensor on another device is copied to it), in any
memory format; float16 and bfloat16 tensors are widened to the layer's dtype first, which
is exact. Results go back as torch tensors on the first tensor argument's device.
"""

import sys

import numpy as np

from ._native import Error


def _torch_tensor(obj):
    """Whether ``obj`` is a torch tensor (without importing torch)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.Tensor)


def _from_torch(t, dt):
    """A torch tensor's values as a numpy array: detached, on the CPU, 16-bit floats widened
    exactly to ``dt`` (numpy has no bfloat16)."""
    torch = sys.modules["torch"]
    t = t.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    if t.dtype in (torch.float16, torch.bfloat16) and dt.kind == "f" and dt.itemsize >= 4:
        t = t.to(torch.float32 if dt.itemsize == 4 else torch.float64)
    if t.dtype == torch.bfloat16:
        t = t.to(torch.float32)
    return t.resolve_conj().resolve_neg().numpy()


def torch_device(*objs):
    """The device of the first torch tensor among ``objs``, or ``None`` if there is none."""
    for o in objs:
        if _torch_tensor(o):
            return o.device
    return None


def to_torch(result, device):
    """The arrays of ``result`` (a tuple) as torch tensors on ``device`` (sharing memory on
    the CPU)."""
    torch = sys.modules["torch"]
    return tuple(torch.from_numpy(a).to(device) for a in result)


def exact_array(obj, dtype, what):
    """``obj`` as a numpy array of ``dtype`` holding exactly the same numbers."""
    dt = np.dtype(dtype)
    if _torch_tensor(obj):
        obj = _from_torch(obj, dt)
    try:
        a = np.asarray(obj)
    except Exception as e:  # ragged lists and the like
        raise Error(f"{what}: not an array of numbers ({e})") from None
    orig = a
    if a.dtype.kind == "O":  # e.g. Python ints beyond int64: exact values as float64
        a = _exact_objects(a, dt, what)
    kind = a.dtype.kind
    if kind not in "fiu":
        raise Error(f"{what}: expected numbers of dtype {dt.name}, got {a.dtype} ({type(obj).__name__})")
    if isinstance(obj, (np.ndarray, np.generic)) and kind == "f" and a.dtype != dt:
        # A numpy float scalar is refused as its array would be: one rule for both.
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
        v = orig[i] if orig.ndim else orig[()]
        v = v.item() if isinstance(v, np.generic) else v
        where = f"{what}[{', '.join(map(str, i))}]" if a.ndim else what
        raise Error(
            f"{where} = {v!r} is not a {dt.name} value; pass a {dt.name} array "
            "(bnbound never rounds an input silently)"
        )
    # Not np.ascontiguousarray: it makes a 0-d array 1-D (a scalar would become a vector).
    return np.require(b, requirements="C")


def _where(what, a, i):
    return f"{what}[{', '.join(map(str, i))}]" if a.ndim else what


def _exact_objects(a, dt, what):
    """An object array (Python ints too large for int64, mixed numbers) as float64, each
    element exactly; anything else is an error naming the element."""
    out = np.empty(a.shape, np.float64)
    for i in np.ndindex(a.shape):
        v = a[i]
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise Error(f"{what}: expected numbers of dtype {dt.name}, got {type(v).__name__} "
                        f"at {_where(what, a, i)}")
        try:
            f = float(v)
        except OverflowError:
            f = None
        if f is None or (isinstance(v, (int, np.integer)) and int(f) != int(v)):
            raise Error(f"{_where(what, a, i)} = {v!r} is not a {dt.name} value; pass a "
                        f"{dt.name} array (bnbound never rounds an input silently)")
        out[i] = f
    return out
