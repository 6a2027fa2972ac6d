"""End to end: bnbound.lirpa inside auto_LiRPA on a small Conv–BN network.

A Conv(3→8)–BN–ReLU–Conv(8→16, stride 2)–BN–ReLU–Linear network in eval mode with
realistic statistics (variance 1e-6 on some channels, |mean| up to 80, scales in the
hundreds). For each conv mode auto_LiRPA offers (patches, its default, and matrix), each
box radius (0: point boxes, 1e-3, 1e-2), flush-to-zero off and on (torch.set_flush_denormal,
set while torch and auto_LiRPA run) and each method (IBP, CROWN), the bounds the
patched BoundedModule keeps for each BatchNorm output are compared with torch's own
float32 BatchNorm outputs at the box's corners, centre and random points (the
BatchNorm's input captured with forward hooks, so the outputs compared are exactly what
torch computed). Every torch output must lie inside the patched bounds; stock auto_LiRPA's
misses are counted (the test's teeth: they must exist). Then the time of patched and stock
CROWN on the same network and box is printed (measured, never asserted).

Usage: python tests/engine/lirpa_e2e.py   (needs torch 2.8, auto_LiRPA 0.7.1, bnbound)
"""

import sys
import time
import warnings

import numpy as np
import torch
import torch.nn as nn
from auto_LiRPA import BoundedModule, BoundedTensor, PerturbationLpNorm
from auto_LiRPA.operators import BoundBatchNormalization

import bnbound
import bnbound.lirpa as lirpa

torch.manual_seed(0)
torch.set_num_threads(1)
RADII = [0.0, 1e-3, 1e-2]
# torch's outputs are checked against pytorch-cpu bounds; real semantics (the exact
# function of the stored parameters, not torch's floats) is run and its misses reported.
# The layer's input box by IBP (the default) and by auto_LiRPA's CROWN (input_bounds).
SEMANTICS = [("deployed", "pytorch-cpu", "ibp"), ("deployed", "pytorch-cpu", "crown"), ("real", None, "ibp")]


def network() -> nn.Module:
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(16 * 4 * 4, 10),
    )
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for bn in (net[1], net[4]):
            c = bn.num_features
            var = torch.rand(c, generator=g) * 2.0 + 0.05
            var[::3] = 1e-6  # nearly constant channels: scales in the hundreds
            bn.running_var.copy_(var)
            bn.running_mean.copy_((torch.rand(c, generator=g) - 0.5) * 160.0)
            bn.weight.copy_((torch.rand(c, generator=g) - 0.5) * 1.0)
            bn.bias.copy_((torch.rand(c, generator=g) - 0.5) * 4.0)
    return net.eval()


def points(x: torch.Tensor, eps: float, k: int = 24) -> torch.Tensor:
    """Corners (random sign patterns), the centre and uniform points of the box, as
    float32 values inside it."""
    lo, hi = x - eps, x + eps
    out = [x]
    g = torch.Generator().manual_seed(2)
    for i in range(k):
        if i % 2 == 0:
            s = torch.randint(0, 2, x.shape, generator=g).to(x.dtype)
            p = lo + s * (hi - lo)
        else:
            p = lo + torch.rand(x.shape, generator=g) * (hi - lo)
        out.append(torch.minimum(torch.maximum(p, lo), hi))
    return torch.stack(out)


def bn_outputs(net: nn.Module, pts: torch.Tensor):
    """For each BatchNorm, torch's outputs at each point: a list of (P, B, C, H, W)."""
    outs = {0: [], 1: []}
    hooks = [
        m.register_forward_hook(lambda mod, inp, out, i=i: outs[i].append(out.detach().clone()))
        for i, m in enumerate([net[1], net[4]])
    ]
    with torch.no_grad():
        for p in pts:
            net(p)
    for h in hooks:
        h.remove()
    return [torch.stack(outs[i]) for i in (0, 1)]


def bn_nodes(model: BoundedModule):
    nodes = [n for n in model.nodes() if isinstance(n, BoundBatchNormalization)]
    assert len(nodes) == 2, nodes
    # Order by the number of channels of their output: 8 then 16.
    return sorted(nodes, key=lambda n: n.output_shape[1])


def outside(node, ys: torch.Tensor) -> int:
    lo, hi = node.lower.detach(), node.upper.detach()
    return int(((ys < lo) | (ys > hi)).sum())


def bounds(model, x, eps, method):
    xb = BoundedTensor(x, PerturbationLpNorm(norm=float("inf"), eps=eps))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lirpa.CrossedBoundsWarning)
        model.compute_bounds(x=(xb,), method=method)
    return bn_nodes(model)


def dense_and_refusals() -> int:
    """A Linear–BatchNorm1d–ReLU–Linear network (CROWN's matrix form on (spec, batch, C)):
    torch's BN outputs inside the patched bounds; an L2 ball feeding a BatchNorm directly
    (auto_LiRPA then keeps the ball's centre as the input's bounds) raises bnbound.Error
    for IBP and CROWN, never a bound."""
    net = nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 3)).eval()
    with torch.no_grad():
        net[1].running_var.copy_(torch.tensor([1e-6, 0.5, 2.0, 1e-6, 1.0]))
        net[1].running_mean.copy_(torch.tensor([30.0, -20.0, 1.0, 0.5, -80.0]))
    x = torch.randn(3, 6)
    failures = 0
    model = BoundedModule(net, x, custom_ops=lirpa.custom_ops())
    for eps in RADII:
        pts = points(x, eps)
        outs = []
        h = net[1].register_forward_hook(lambda m, i, o: outs.append(o.detach().clone()))
        with torch.no_grad():
            for p in pts:
                net(p)
        h.remove()
        ys = torch.stack(outs)
        for method in ("IBP", "CROWN"):
            xb = BoundedTensor(x, PerturbationLpNorm(norm=float("inf"), eps=eps))
            model.compute_bounds(x=(xb,), method=method)
            node = [n for n in model.nodes() if isinstance(n, BoundBatchNormalization)][0]
            out = outside(node, ys)
            failures += out
            print(f"BatchNorm1d eps={eps:<6} {method:5}: pytorch-cpu outside {out} of {ys.numel()}")
    direct = nn.Sequential(nn.BatchNorm1d(6), nn.Linear(6, 2)).eval()
    m = BoundedModule(direct, x, custom_ops=lirpa.custom_ops())
    for method in ("IBP", "CROWN"):
        try:
            m.compute_bounds(x=(BoundedTensor(x, PerturbationLpNorm(norm=2, eps=0.01)),), method=method)
            print(f"L2 ball into a BatchNorm, {method}: bounds returned (must be refused)")
            failures += 1
        except bnbound.Error as e:
            print(f"L2 ball into a BatchNorm, {method}: refused ({e})")
    # Crossed input bounds (lower > upper), handed to the patched IBP directly: "hull"
    # bounds [min, max], counts and warns; "raise" raises. Never silently dropped.
    node = [n for n in model.nodes() if isinstance(n, BoundBatchNormalization)][0]
    bn = net[1]
    params = [(t.detach(), t.detach()) for t in (bn.weight, bn.bias, bn.running_mean, bn.running_var)]
    lo = torch.zeros(1, 5)
    hi = lo.clone()
    hi[0, 2] = -1e-4  # element 2 crossed
    lirpa.stats.reset()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        ylo, yhi = node.interval_propagate((lo, hi), *params)
    with torch.no_grad():
        y_at = [bn(lo), bn(hi)]  # the two ends of the crossed element, the others at 0
    warned = any(issubclass(x.category, lirpa.CrossedBoundsWarning) for x in w)
    inside = all(bool(((ylo <= y) & (y <= yhi)).all()) for y in y_at)
    print(f"crossed input bounds, hull: counted {lirpa.stats.crossed}, warned {warned}, "
          f"torch outputs at both ends inside {inside}")
    if lirpa.stats.crossed != 1 or not warned or not inside:
        failures += 1
    strict = BoundedModule(net, x, custom_ops=lirpa.custom_ops(on_crossing="raise"))
    strict.compute_bounds(x=(BoundedTensor(x, PerturbationLpNorm(norm=float("inf"), eps=0.0)),), method="IBP")
    snode = [n for n in strict.nodes() if isinstance(n, BoundBatchNormalization)][0]
    try:
        snode.interval_propagate((lo, hi), *params)
        print("crossed input bounds, raise: bounds returned (must raise)")
        failures += 1
    except bnbound.Error as e:
        print(f"crossed input bounds, raise: refused ({e})")
    try:
        lirpa.custom_ops(input_bounds="exact")
        print("input_bounds='exact': accepted (must raise)")
        failures += 1
    except bnbound.Error as e:
        print(f"input_bounds='exact': refused ({e})")
    return failures


def main() -> int:
    net = network()
    x = torch.randn(2, 3, 8, 8)
    failures = 0
    stock_misses = 0
    checked = 0
    for mode in ("patches", "matrix"):
        opts = {"conv_mode": mode}
        stock = BoundedModule(net, x, bound_opts=opts)
        patched = {
            (s, r, i): BoundedModule(
                net, x, bound_opts=opts, custom_ops=lirpa.custom_ops(s, r, input_bounds=i)
            )
            for s, r, i in SEMANTICS
        }
        # The caller's flush-to-zero state (torch.set_flush_denormal) set for torch and for
        # every bound computation: bnbound's bounds must not depend on it.
        for flush, eps in [(f, e) for f in (False, True) for e in RADII]:
            assert torch.set_flush_denormal(flush) or not flush
            ys = bn_outputs(net, points(x, eps))
            for method in ("IBP", "CROWN"):
                nodes = bounds(stock, x, eps, method)
                miss = [outside(n, y) for n, y in zip(nodes, ys)]
                stock_misses += sum(miss)
                line = f"{mode:7} flush={flush:d} eps={eps:<6} {method:5}: stock outside {miss[0]}+{miss[1]}"
                for (s, r, i), model in patched.items():
                    nodes = bounds(model, x, eps, method)
                    out = [outside(n, y) for n, y in zip(nodes, ys)]
                    if s == "real":
                        line += f", real outside {out[0]}+{out[1]} (not torch's semantics)"
                        continue
                    checked += sum(int(y.numel()) for y in ys)
                    line += f", {r} ({i} box) outside {out[0]}+{out[1]}"
                    failures += sum(out)
                print(line)
            torch.set_flush_denormal(False)
    lirpa.stats.reset()
    # Time: CROWN and IBP on a 1e-3 box, stock against patched (pytorch-cpu), best of 5.
    for mode in ("patches", "matrix"):
        opts = {"conv_mode": mode}
        stock = BoundedModule(net, x, bound_opts=opts)
        ours = BoundedModule(net, x, bound_opts=opts, custom_ops=lirpa.custom_ops())
        crown_box = BoundedModule(
            net, x, bound_opts=opts, custom_ops=lirpa.custom_ops(input_bounds="crown")
        )
        # The default bounds each BatchNorm's input (a convolution read by nothing else)
        # by IBP: auto_LiRPA's flag for that must be set on both inputs, on no other node.
        flagged = sorted(n.name for n in ours.nodes() if n.ibp_intermediate and type(n).__name__ == "BoundConv")
        wanted = sorted(n.inputs[0].name for n in bn_nodes(ours))
        if flagged != wanted:
            print(f"IBP input boxes: flagged {flagged}, expected {wanted}")
            failures += 1

        def best(m, method):
            ts = []
            for _ in range(5):
                t = time.perf_counter()
                bounds(m, x, 1e-3, method)
                ts.append(time.perf_counter() - t)
            return min(ts)

        for method in ("CROWN", "IBP"):
            ts, to = best(stock, method), best(ours, method)
            print(f"{method} time ({mode}): stock {ts * 1e3:.1f} ms, bnbound.lirpa {to * 1e3:.1f} ms ({to / ts:.2f}×)")
        tc = best(crown_box, "CROWN")
        print(f"CROWN time ({mode}), input_bounds='crown': {tc * 1e3:.1f} ms ({tc / ts:.2f}× stock)")
    print(f"{checked} torch BatchNorm outputs checked against deployed bounds; "
          f"{failures} outside; stock auto_LiRPA: {stock_misses} outside; "
          f"input bounds crossed (lower > upper) in timing runs: {lirpa.stats.crossed}")
    if stock_misses == 0:
        print("the check has no teeth: stock auto_LiRPA never missed")
        return 1
    failures += dense_and_refusals()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
