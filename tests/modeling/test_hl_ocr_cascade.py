"""HL on the OCRNet cascade (docs/methods/hl.md §3.3): the HL branch is a whole cascade with a
K-class stage 1 and a 1-class stage 2; one map weights both stages' losses; the HL objective uses
stage 2's only; gradients route as the official HLCascadeEncoderDecoder."""

import torch
from torch.nn import functional as F

from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from hardseg.modeling.preprocess import normalize_and_pad
from tests.common import random_batch, tiny_cfg

CONFIG = "hardshapes/fcn_hr18_bs8_600it.yaml"
OPTS = ("MODEL.SEM_SEG_HEAD.NAME", "HardnessHead", "MODEL.HARDNESS.ENABLED", True,
        "MODEL.HARDNESS.HEAD_NAME", "HRNetOCRHead", "MODEL.OCR.CHANNELS", 24,
        "MODEL.OCR.KEY_CHANNELS", 8, "MODEL.SEM_SEG_HEAD.CHANNELS", 32)  # fmt: skip


def _grads(module):
    return [p.grad for p in module.parameters() if p.grad is not None and p.grad.abs().sum() > 0]


def _uniform_step(*opts):
    """A seeded model with the HL predictor zeroed (z = 0: w uniform, 1 / (N H W)), one training
    forward on a random batch. Returns (model, batch, losses)."""
    torch.manual_seed(0)
    model = build_model(tiny_cfg(*OPTS, *opts, config=CONFIG))
    torch.nn.init.zeros_(model.sem_seg_head.hl.predictor.weight)
    model.train()
    batch = random_batch(n=2, h=64, w=64, num_classes=7)
    with EventStorage(0):
        losses = model(batch)
    assert set(losses) == {"loss_sem_seg", "loss_sem_seg_stage1", "loss_hardness"}
    return model, batch, losses


def _check_uniform_stage1_loss(model, batch, losses):
    """With uniform weights the stage-1 loss is 0.4 x the summed CE over all N H W pixels
    (ignored ones 0), recomputed here from the decode cascade's stage-1 logits."""
    targets = torch.stack([b["sem_seg"] for b in batch])
    with torch.no_grad():  # train mode, no dropout: the same stage-1 logits as in the step
        images = normalize_and_pad([b["image"] for b in batch], model.pixel_mean, model.pixel_std)
        feats = model.backbone(images.tensor)
        stage1 = model.sem_seg_head.seg.layers(feats, return_features=True)[1]["stage1_logits"]
    up = F.interpolate(stage1, size=(64, 64), mode="bilinear", align_corners=False)
    ce = F.cross_entropy(up, targets, ignore_index=255, reduction="sum") / targets.numel()
    torch.testing.assert_close(losses["loss_sem_seg_stage1"], 0.4 * ce, rtol=1e-4, atol=1e-6)


def test_hl_over_ocr_weights_both_stages_and_learns_from_the_last():
    model, batch, losses = _uniform_step()
    head = model.sem_seg_head
    assert head.hl.stage1.predictor.out_channels == 7 and head.hl.predictor.out_channels == 1
    _check_uniform_stage1_loss(model, batch, losses)

    # gradient routing (an HL predictor that is not zero, so z depends on the HL stage 1)
    torch.nn.init.normal_(head.hl.predictor.weight, std=0.01)
    with EventStorage(0):
        losses = model(batch)
    # the stage-1 loss reaches seg.stage1 and the backbone, never the HL branch
    losses["loss_sem_seg_stage1"].backward(retain_graph=True)
    assert _grads(head.seg.stage1) and _grads(model.backbone)
    assert not _grads(head.hl) and not _grads(head.seg.stage2)
    model.zero_grad(set_to_none=True)
    # the HL objective trains the whole HL cascade (its K-class stage 1 too), nothing else
    losses["loss_hardness"].backward()
    assert _grads(head.hl.stage1) and _grads(head.hl.stage2)
    assert not _grads(head.seg) and not _grads(model.backbone)


def test_light_branch_over_ocr_is_built_and_weights_both_stages():
    """MODEL.HARDNESS.BRANCH light is honoured on a cascade too (it used to be replaced by the
    cascade copy without a word): one small branch, the same map on both stages' losses."""
    from hardseg.modeling.heads.hl_light_branch import LightHardnessBranch

    model, batch, losses = _uniform_step("MODEL.HARDNESS.BRANCH", "light")
    head = model.sem_seg_head
    assert isinstance(head.hl, LightHardnessBranch)
    _check_uniform_stage1_loss(model, batch, losses)
    losses["loss_hardness"].backward()
    assert _grads(head.hl) and not _grads(head.seg) and not _grads(model.backbone)
