"""FCN-HR18 + CAC and OCR-HR18 + CAC (the hardshapes twin, small widths) train a step through
HardSegmentor; OCR's weight branch reads detached features and detached stage-1 logits."""

import torch

from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from tests.common import random_batch, tiny_cfg

CONFIG = "hardshapes/fcn_hr18_cac_bs8_600it.yaml"
SMALL = ("MODEL.CAC.THRESHOLD", 4, "MODEL.CAC.PROJ_CHANNELS", 16, "MODEL.SEM_SEG_HEAD.CHANNELS", 32)
OCR = ("MODEL.CAC.HEAD_NAME", "HRNetOCRHead", "MODEL.OCR.CHANNELS", 24, "MODEL.OCR.KEY_CHANNELS", 8)


def _step(model):
    model.train()
    with EventStorage(0):
        losses = model(random_batch(n=2, h=64, w=64, num_classes=7))
    return losses


def test_fcn_hr18_cac_step_and_inference():
    torch.manual_seed(0)
    model = build_model(tiny_cfg(*SMALL, config=CONFIG))
    assert model.sem_seg_head.cac_input == "head_input"  # the official X (docs/methods/cac.md §2)
    losses = _step(model)
    assert set(losses) == {"loss_sem_seg", "loss_sem_seg_weight", "loss_cac"}
    assert losses["loss_cac"] > 0
    sum(losses.values()).backward()
    head = model.sem_seg_head
    assert head.proj.residual.weight.grad.abs().sum() > 0
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        out = model(random_batch(n=1, h=64, w=64, with_labels=False))
    assert out[0]["sem_seg"].shape == (7, 64, 64)


def test_ocr_hr18_cac_weight_branch_is_a_detached_second_stage():
    torch.manual_seed(0)
    model = build_model(tiny_cfg(*SMALL, *OCR, config=CONFIG))
    losses = _step(model)
    assert set(losses) == {
        "loss_sem_seg", "loss_sem_seg_stage1", "loss_sem_seg_weight", "loss_cac",
    }  # fmt: skip
    head = model.sem_seg_head
    stage1 = list(head.seg.stage1.parameters())
    branch = list(head.weight_branch.parameters())
    grads = torch.autograd.grad(
        losses["loss_sem_seg_weight"], stage1 + branch, allow_unused=True, retain_graph=True
    )
    assert all(g is None or g.abs().sum() == 0 for g in grads[: len(stage1)])
    assert any(g is not None and g.abs().sum() > 0 for g in grads[len(stage1) :])
    s1 = torch.autograd.grad(losses["loss_sem_seg_stage1"], stage1[0], retain_graph=True)[0]
    assert s1.abs().sum() > 0
