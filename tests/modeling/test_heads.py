import logging

import pytest
import torch
from torch import nn

from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from hardseg.modeling.losses import PixelCrossEntropy, build_sem_seg_loss
from hardseg.modeling.sync_bn import sync_bn_fallback
from tests.common import random_batch, tiny_cfg


def test_pixel_cross_entropy_by_hand():
    # Two pixels, two classes. logits (0, log 3) -> p = (1/4, 3/4).
    logits = torch.tensor([[0.0, 0.0], [torch.log(torch.tensor(3.0)), 0.0]])  # (K=2, P=2)
    logits = logits.view(1, 2, 1, 2)
    targets = torch.tensor([[[1, 0]]])
    loss = PixelCrossEntropy(ignore_value=255)
    per_pixel = loss.pixel_loss(logits, targets)
    # pixel 0: p(class 1) = 3/4 ; pixel 1: logits (0, 0) -> p(class 0) = 1/2
    expected = torch.tensor([[[-torch.log(torch.tensor(0.75)), torch.log(torch.tensor(2.0))]]])
    torch.testing.assert_close(per_pixel, expected)
    torch.testing.assert_close(loss(logits, targets), expected.mean())


def test_pixel_cross_entropy_ignore_and_all_ignore():
    loss = PixelCrossEntropy(ignore_value=255)
    logits = torch.randn(2, 5, 4, 4, requires_grad=True)
    targets = torch.randint(0, 5, (2, 4, 4))
    ignored = targets.clone()
    ignored[:, :2] = 255
    per_pixel = loss.pixel_loss(logits, ignored)
    assert (per_pixel[:, :2] == 0).all()
    torch.testing.assert_close(loss(logits, ignored), per_pixel[:, 2:].mean())
    all_ignored = torch.full_like(targets, 255)
    value = loss(logits, all_ignored)
    assert value.item() == 0.0
    value.backward()
    assert torch.isfinite(logits.grad).all()


def test_unknown_loss_type_is_named():
    with pytest.raises(ValueError, match="'focall'"):
        build_sem_seg_loss("focall", 255)


def test_head_pixel_loss_matches_losses():
    cfg = tiny_cfg()
    model = build_model(cfg)
    head = model.sem_seg_head
    feats = model.backbone(torch.randn(2, 3, 64, 96))
    logits = head.layers(feats)
    assert logits.shape == (2, 7, 16, 24)
    targets = torch.randint(0, 7, (2, 64, 96))
    targets[:, :5] = 255
    pixel = head.pixel_loss(logits, targets)
    assert pixel.shape == (2, 64, 96)
    expected = pixel.sum() / (targets != 255).sum()
    torch.testing.assert_close(head.losses(logits, targets)["loss_sem_seg"], expected)


def test_hard_pixel_mining_has_no_pixel_form():
    cfg = tiny_cfg("MODEL.SEM_SEG_HEAD.LOSS_TYPE", "hard_pixel_mining")
    head = build_model(cfg).sem_seg_head
    with pytest.raises(TypeError, match="hard_pixel_mining"):
        head.pixel_loss(torch.randn(1, 7, 4, 4), torch.zeros(1, 16, 16, dtype=torch.long))


def test_aspp_pooling_modes():
    glob = build_model(tiny_cfg()).sem_seg_head
    crop = build_model(tiny_cfg("MODEL.SEM_SEG_HEAD.ASPP_POOLING", "crop")).sem_seg_head
    pool_g = glob.decoder["res5"]["project_conv"].convs[-1][0]
    pool_c = crop.decoder["res5"]["project_conv"].convs[-1][0]
    assert isinstance(pool_g, nn.AdaptiveAvgPool2d)
    assert isinstance(pool_c, nn.AvgPool2d) and pool_c.kernel_size == (8, 8)  # 64 crop / OS8
    with pytest.raises(ValueError, match="ASPP_POOLING='gobal'"):
        build_model(tiny_cfg("MODEL.SEM_SEG_HEAD.ASPP_POOLING", "gobal"))


def test_training_step_and_inference():
    model = build_model(tiny_cfg())
    model.train()
    with EventStorage():
        losses = model(random_batch())
    assert set(losses) == {"loss_sem_seg"}
    losses["loss_sem_seg"].backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    model.eval()
    with torch.no_grad():
        out = model(random_batch(n=1, h=50, w=70, with_labels=False))
    assert out[0]["sem_seg"].shape == (7, 50, 70)


def test_sync_bn_falls_back_to_bn_on_one_process(caplog):
    cfg = tiny_cfg("MODEL.RESNETS.NORM", "SyncBN", "MODEL.SEM_SEG_HEAD.NORM", "SyncBN")
    with caplog.at_level(logging.INFO, logger="hardseg"):
        model = build_model(cfg)
    assert not any(isinstance(m, nn.SyncBatchNorm) for m in model.modules())
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) > 10
    assert len([r for r in caplog.records if "SyncBN -> BN" in r.getMessage()]) == 1
    # the replacement keeps parameters and statistics
    sync = nn.Sequential(nn.SyncBatchNorm(4))
    with torch.no_grad():
        sync[0].weight.copy_(torch.arange(4.0))
        sync[0].running_mean.fill_(3.0)
    sync_bn_fallback(sync, "cpu")
    assert type(sync[0]) is nn.BatchNorm2d
    torch.testing.assert_close(sync[0].weight.detach(), torch.arange(4.0))
    torch.testing.assert_close(sync[0].running_mean, torch.full((4,), 3.0))
