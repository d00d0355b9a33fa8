import torch

from detectron2.projects.deeplab.lr_scheduler import WarmupPolyLR
from detectron2.solver import LRMultiplier

from hardseg.solver import WarmupPolyParamScheduler


def test_equals_detectron2_deeplab_warmup_poly_lr_at_every_iteration():
    max_iter, warmup, base_lr = 600, 50, 0.02
    p1 = torch.nn.Parameter(torch.zeros(1))
    p2 = torch.nn.Parameter(torch.zeros(1))
    o1 = torch.optim.SGD([p1], lr=base_lr)
    o2 = torch.optim.SGD([p2], lr=base_lr)
    ref = WarmupPolyLR(o1, max_iter, warmup_factor=0.001, warmup_iters=warmup, power=0.9)
    ours = LRMultiplier(o2, WarmupPolyParamScheduler(0.9, warmup / max_iter, 0.001), max_iter)
    for it in range(max_iter):
        assert abs(o1.param_groups[0]["lr"] - o2.param_groups[0]["lr"]) < 1e-12, it
        o1.step(), o2.step(), ref.step(), ours.step()
    # by hand: at iteration 0 the factor is 0.001; at 300 (after warmup) 0.5 ** 0.9
    s = WarmupPolyParamScheduler(0.9, warmup / max_iter, 0.001)
    assert s(0.0) == 0.001
    assert abs(s(0.5) - 0.5**0.9) < 1e-15
