"""MODEL.CHANNELS_LAST and MODEL.BACKBONE_ACTIVATION_CHECKPOINT (hardseg/modeling/efficiency.py):
the same losses and gradients as the default layout / no checkpointing, for every model family."""

import copy

import pytest
import torch

from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from hardseg.engine.lazy import load_lazy_config
from hardseg.engine.trainer import Trainer
from hardseg.model_zoo import CONFIG_ROOT
from hardseg.modeling.efficiency import checkpoint_backbone_stages, to_channels_last
from tests.common import random_batch, tiny_cfg
from tests.engine.test_amp import FAMILIES


def _losses_and_grads(model, batch, iteration):
    model.zero_grad()
    torch.manual_seed(7)
    with EventStorage(iteration):
        losses = model(batch)
    sum(losses.values()).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return {k: v.detach() for k, v in losses.items()}, grads


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_channels_last_same_step(family, monkeypatch):
    # dropout draws its mask in memory order, so NHWC would drop other elements: off here
    monkeypatch.setattr(torch.nn.functional, "dropout", lambda x, *a, **k: x)
    make_cfg, make_batch, iteration = FAMILIES[family]
    torch.manual_seed(0)
    model = build_model(make_cfg()).train()
    nhwc = to_channels_last(copy.deepcopy(model))
    convs = [m.weight for m in nhwc.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(w.is_contiguous(memory_format=torch.channels_last) for w in convs)
    seen = []
    first = next(m for m in nhwc.modules() if isinstance(m, torch.nn.Conv2d))
    first.register_forward_hook(lambda m, a, out: seen.append(out))
    batch = make_batch()
    ref_l, ref_g = _losses_and_grads(model, batch, iteration)
    l, g = _losses_and_grads(nhwc, batch, iteration)
    assert seen[0].is_contiguous(memory_format=torch.channels_last)  # NHWC activations
    # float32 sums in another order (NHWC kernels, and another order again with several
    # threads): losses within 1e-4, each gradient within 1e-3 of the reference in relative L2
    # norm, + 1e-6 absolute (a conv bias before a GroupNorm has gradient 0 up to rounding noise).
    # U2PL: 2e-2 for both, a rounding difference can move a pixel across the entropy percentile
    # (reliable <-> unreliable) or its contrastive sampling ranks (seen with 2 threads: 0.24 %).
    rtol = 2e-2 if family == "u2pl" else 1e-3
    for k in ref_l:
        loss_rtol = rtol if family == "u2pl" else 1e-4
        torch.testing.assert_close(l[k], ref_l[k], rtol=loss_rtol, atol=1e-5)
    assert set(g) == set(ref_g)
    for n in ref_g:
        err = (g[n] - ref_g[n]).norm()
        assert err <= rtol * ref_g[n].norm() + 1e-6, (n, float(err), float(ref_g[n].norm()))


def test_activation_checkpoint_same_loss_grads_and_bn_statistics():
    torch.manual_seed(0)
    model = build_model(tiny_cfg()).train()
    ckpt = copy.deepcopy(model)
    assert checkpoint_backbone_stages(ckpt) == 4  # res2..res5
    batch = random_batch(2, 32, 32, seed=3)
    ref_l, ref_g = _losses_and_grads(model, batch, 0)
    l, g = _losses_and_grads(ckpt, batch, 0)
    for k in ref_l:
        torch.testing.assert_close(l[k], ref_l[k], rtol=0, atol=0)
    assert set(g) == set(ref_g)
    for n in ref_g:
        torch.testing.assert_close(g[n], ref_g[n], rtol=1e-5, atol=1e-7, msg=n)
    # batch-norm statistics moved once (the recomputation in backward does not move them again)
    for (n, b), b_ref in zip(ckpt.named_buffers(), model.buffers()):
        torch.testing.assert_close(b, b_ref, rtol=0, atol=0, msg=n)


def test_config_switches_and_lazy_twin():
    model = Trainer.build_model(
        tiny_cfg("MODEL.CHANNELS_LAST", True, "MODEL.BACKBONE_ACTIVATION_CHECKPOINT", True)
    )
    w = model.backbone.stem.conv1.weight
    assert w.is_contiguous(memory_format=torch.channels_last)
    assert "forward" in vars(model.backbone.stages[0])  # the checkpointed forward
    plain = Trainer.build_model(tiny_cfg())
    assert not plain.backbone.stem.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    lazy = load_lazy_config(str(CONFIG_ROOT / "lazy" / "common" / "train.py"))
    assert lazy.train.channels_last is False and lazy.train.activation_checkpoint is False
    with pytest.raises(ValueError, match="no ResNet-style backbone"):
        checkpoint_backbone_stages(torch.nn.Sequential(torch.nn.Conv2d(3, 3, 1)))
