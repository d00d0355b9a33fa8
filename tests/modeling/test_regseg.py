"""RegSeg: the exp48_decoder26 size against the paper, the split dilated conv, a toy training step
(plain and with HL)."""

import pytest
import torch

from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from hardseg.modeling.backbone import RegSegBody
from hardseg.modeling.backbone.regseg import SplitDilatedConv
from hardseg.modeling.heads import RegSegHead
from tests.common import random_batch, tiny_cfg

TINY = "hardshapes/regseg_exp48_bs8_600it.yaml"


def test_parameter_count_matches_the_paper():
    """Gao 2021, Table 5 (Cityscapes, 19 classes): RegSeg 3.34 M parameters."""
    with torch.device("meta"):
        bb = RegSegBody()
        head = RegSegHead(bb.output_shape(), num_classes=19)
    n = sum(p.numel() for m in (bb, head) for p in m.parameters()) / 1e6
    assert abs(n - 3.34) <= 0.02 * 3.34, n


def test_split_dilated_conv_applies_each_rate_to_its_channels():
    conv = SplitDilatedConv(32, [1, 4], group_width=16, stride=1)
    x = torch.zeros(1, 32, 21, 21)
    x[0, :, 10, 10] = 1.0
    y = conv(x)
    # a delta spreads to offsets {0, +-1} in the first half and {0, +-4} in the second
    assert y[0, :16, 11, 11].abs().sum() > 0 and y[0, :16, 14, 14].abs().sum() == 0
    assert y[0, 16:, 14, 14].abs().sum() > 0 and y[0, 16:, 11, 11].abs().sum() == 0
    with pytest.raises(ValueError, match="group width"):
        SplitDilatedConv(40, [1, 4], group_width=16, stride=1)


@pytest.mark.parametrize("hl", [False, True])
def test_regseg_trains_and_infers(hl):
    opts = ["MODEL.SEM_SEG_HEAD.NAME", "HardnessHead", "MODEL.HARDNESS.ENABLED", True,
            "MODEL.HARDNESS.HEAD_NAME", "RegSegHead"] if hl else []  # fmt: skip
    torch.manual_seed(0)
    model = build_model(tiny_cfg(*opts, config=TINY))
    model.train()
    with EventStorage():
        losses = model(random_batch(n=2, h=64, w=96, num_classes=7))
    assert ("loss_hardness" in losses) == hl
    sum(losses.values()).backward()
    assert model.backbone.stem.conv.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        out = model(random_batch(n=1, h=70, w=90, with_labels=False))
    assert out[0]["sem_seg"].shape == (7, 70, 90)
