"""SFNet: the ResNet-18 model's size against the paper, the flow warp, a toy training step (plain
and with HL)."""

import pytest
import torch

from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from hardseg.modeling.backbone import make_resnet_dilated
from hardseg.modeling.heads import SFNetHead
from hardseg.modeling.heads.sfnet_head import flow_warp
from tests.common import random_batch, tiny_cfg

TINY = "hardshapes/sfnet_R18_bs8_600it.yaml"


def test_resnet18_parameter_count_matches_the_paper():
    """Li et al. 2020 (SFNet), Table 8: SFNet (ResNet-18) 12.87 M parameters (19 classes)."""
    with torch.device("meta"):
        bb = make_resnet_dilated(
            depth=18, stem_type="deeplab", stem_out_channels=128, stride_in_1x1=False,
            res5_multi_grid=[1, 1], out_features=["res2", "res3", "res4", "res5"],
        )  # fmt: skip
        head = SFNetHead(bb.output_shape(), num_classes=19, fpn_dim=128)
    n = sum(p.numel() for m in (bb, head) for p in m.parameters()) / 1e6
    assert abs(n - 12.87) <= 0.02 * 12.87, n


def test_flow_warp_zero_flow_upsamples_and_a_shift_moves_the_samples():
    x = torch.arange(12.0).reshape(1, 1, 3, 4)
    same = flow_warp(x, torch.zeros(1, 2, 3, 4))
    torch.testing.assert_close(same, x)  # zero flow on the same grid: identity
    up = flow_warp(x, torch.zeros(1, 2, 5, 7))  # zero flow on a finer grid: corner-aligned resize
    expected = torch.nn.functional.interpolate(x, size=(5, 7), mode="bilinear", align_corners=True)
    torch.testing.assert_close(up, expected)
    # the flow is divided by the output width (4) before it is added to the [-1, 1] grid; input
    # columns are 2 / (4 - 1) apart there, so a flow of 4 * 2/3 samples one column to the right
    flow = torch.zeros(1, 2, 3, 4)
    flow[:, 0] = 4 * (2 / 3)
    shifted = flow_warp(x, flow)
    torch.testing.assert_close(shifted[..., :3], x[..., 1:])


@pytest.mark.parametrize("hl", [False, True])
def test_tiny_sfnet_trains_and_infers(hl):
    opts = ["MODEL.SEM_SEG_HEAD.NAME", "HardnessHead", "MODEL.HARDNESS.ENABLED", True,
            "MODEL.HARDNESS.HEAD_NAME", "SFNetHead"] if hl else []  # fmt: skip
    torch.manual_seed(0)
    model = build_model(tiny_cfg(*opts, config=TINY))
    model.train()
    with EventStorage():
        losses = model(random_batch(n=2, h=64, w=96, num_classes=7))
    assert ("loss_hardness" in losses) == hl
    sum(losses.values()).backward()
    head = model.sem_seg_head.seg if hl else model.sem_seg_head
    assert head.fpn_out_align[0].flow_make.weight.grad.abs().sum() > 0  # the flow is learned
    model.eval()
    with torch.no_grad():
        out = model(random_batch(n=1, h=70, w=90, with_labels=False))
    assert out[0]["sem_seg"].shape == (7, 70, 90)
