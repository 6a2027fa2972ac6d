"""Torch tensors in, torch tensors out: the Enclosure API as a torch verifier calls it.

`Enclosure.ibp`, `derivative`, `backward_batch`, `compose` and `backward` take torch
tensors where they take numpy arrays: read detached (`requires_grad` tensors included), from the CPU, in any
memory format (channels_last), float16/bfloat16 widened exactly; and they return torch
tensors on the first tensor argument's device. Checked here against the numpy path (the
same bounds, bit for bit) and against torch's own BatchNorm2d outputs (inside the deployed
bounds), for f32 and f64 layers, channels_last, requires_grad, f16 and bf16 inputs; a
float32 tensor given to a float64 layer is refused, as a float32 numpy array is.

Usage: python tests/engine/torch_tensors.py   (needs torch and bnbound)
"""

import os

import numpy as np
import torch

import bnbound

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def layer(dtype, c, seed):
    g = torch.Generator().manual_seed(seed)
    u = lambda a, b: (a + (b - a) * torch.rand(c, generator=g, dtype=torch.float64)).to(dtype)
    bn = torch.nn.BatchNorm2d(c, eps=1e-5).to(dtype).eval()
    with torch.no_grad():
        bn.weight.copy_(u(-3, 3))
        bn.bias.copy_(u(-1, 1))
        bn.running_mean.copy_(u(-40, 40))
        bn.running_var.copy_(u(1e-6, 2))
    params = [t.detach().numpy() for t in (bn.weight, bn.bias, bn.running_mean, bn.running_var)]
    return bn, bnbound.BatchNorm(*params, params[0].dtype.type(bn.eps))


def same(a, b):
    return all(torch.equal(x, torch.from_numpy(np.asarray(y))) for x, y in zip(a, b))


def main():
    checked = 0
    for dtype in (torch.float32, torch.float64):
        tbn, bn = layer(dtype, 6, 1 if dtype == torch.float32 else 2)
        enc = bn.enclose()
        g = torch.Generator().manual_seed(3)
        x = (torch.rand(2, 6, 5, 7, generator=g, dtype=dtype) * 80 - 40)
        for fmt in (torch.contiguous_format, torch.channels_last):
            xt = x.to(memory_format=fmt).requires_grad_(True)
            xn = x.detach().numpy()
            for kw in ({}, {"semantics": "deployed", "runtime": "pytorch-cpu"}):
                got = enc.ibp(xt, xt, **kw)
                assert all(isinstance(t, torch.Tensor) and t.dtype == dtype for t in got), got
                assert all(t.device.type == "cpu" and not t.requires_grad for t in got)
                assert same(got, enc.ibp(xn, xn, **kw)), "torch and numpy paths differ"
                if kw:
                    with torch.no_grad():
                        y = tbn(xt)
                    assert bool(torch.all((got[0] <= y) & (y <= got[1]))), "torch output outside"
                    checked += y.numel()
                d = enc.derivative(xt, xt, **kw)
                assert same(d, enc.derivative(xn, xn, **kw))
            # backward_batch: Λ of spec × batch × C × H × W, torch in and out.
            lam = torch.randn(3, *x.shape, generator=g, dtype=dtype).requires_grad_(True)
            r = enc.backward_batch(lam, xt, xt + 1, semantics="deployed", runtime="pytorch-cpu")
            rn = enc.backward_batch(lam.detach().numpy(), xn, xn + 1, semantics="deployed",
                                    runtime="pytorch-cpu")
            assert all(isinstance(t, torch.Tensor) for t in r) and same(r, rn)
        # compose and backward (interval forms; deployed given the layer's input box).
        A = torch.randn(6, 4, generator=g, dtype=dtype).requires_grad_(True)
        cv = torch.randn(6, generator=g, dtype=dtype)
        L = torch.randn(3, 6, generator=g, dtype=dtype)
        dv = torch.zeros(3, dtype=dtype)
        box = (torch.rand(6, generator=g, dtype=dtype) * 80 - 40,)
        box = (box[0], box[0] + 1)
        np_of = lambda ts: [t.detach().numpy() for t in ts]
        for kw in ({}, {"semantics": "deployed", "runtime": "pytorch-cpu"}):
            xb = {"x_lo": box[0], "x_hi": box[1]} if kw else {}
            xbn = dict(zip(xb, np_of(xb.values())))
            fc = enc.compose(A, A, cv, cv, **kw, **xb)
            fb = enc.backward(L, L, dv, dv, **kw, **xb)
            assert all(isinstance(t, torch.Tensor) and not t.requires_grad for t in fc + fb)
            assert same(fc, enc.compose(*np_of([A, A, cv, cv]), **kw, **xbn))
            assert same(fb, enc.backward(*np_of([L, L, dv, dv]), **kw, **xbn))
    # 16-bit inputs widen exactly: an f32 layer, bf16 and f16 tensors.
    _, bn = layer(torch.float32, 4, 4)
    enc = bn.enclose()
    x16 = torch.linspace(-3, 3, 4 * 9).reshape(1, 4, 9)
    for half in (torch.float16, torch.bfloat16):
        xh = x16.to(half)
        got = enc.ibp(xh, xh, semantics="deployed", runtime="pytorch-cpu")
        wide = xh.float().numpy()
        assert got[0].dtype == torch.float32 and same(got, enc.ibp(wide, wide, semantics="deployed",
                                                                    runtime="pytorch-cpu"))
    # A float32 tensor for a float64 layer is refused (bnbound never rounds silently; the
    # widening would be exact, but numpy arrays follow the same rule).
    _, bn64 = layer(torch.float64, 4, 5)
    try:
        bn64.enclose().ibp(x16, x16)
    except bnbound.Error as e:
        assert "float64" in str(e), e
    else:
        raise AssertionError("a float32 tensor was accepted by a float64 layer")
    print(f"torch tensors in and out: {checked} torch BatchNorm2d outputs inside the bounds; "
          "numpy and torch paths agree")


if __name__ == "__main__":
    main()
