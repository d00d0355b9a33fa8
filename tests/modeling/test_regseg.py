"""RegSeg: the exp48_decoder26 size against the paper, the split dilated conv, a toy training step
(plain and with HL), and the converter of the official checkpoints."""

import json
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

from detectron2.modeling import META_ARCH_REGISTRY, build_model
from detectron2.utils.events import EventStorage

from hardseg.modeling.backbone import RegSegBody
from hardseg.modeling.backbone.regseg import SplitDilatedConv
from hardseg.modeling.heads import RegSegHead
from hardseg.weights import UnmatchedKeysError, convert_regseg
from hardseg.weights.mapping import check_against
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


def test_official_checkpoint_converts_strictly():
    """Keys and shapes written from RegSeg's blocks.py / model.py (exp48_decoder26, 19 classes;
    tests/modeling/fixtures/regseg_exp48_official_cityscapes_keys.json)."""
    data = json.loads(
        (
            Path(__file__).parent / "fixtures" / "regseg_exp48_official_cityscapes_keys.json"
        ).read_text()
    )
    official = OrderedDict(
        (k, torch.full(s, float(i)) if s else torch.tensor(i))
        for i, (k, s) in enumerate(data["keys"].items())
    )
    converted, dropped = convert_regseg(official)
    assert dropped == []
    cfg = tiny_cfg(config="cityscapes/semantic-segmentation/regseg_exp48_768_bs8_372k.yaml")
    with torch.device("meta"):
        model = META_ARCH_REGISTRY.get(cfg.MODEL.META_ARCHITECTURE)(cfg)
    check_against(converted, model)
    assert torch.equal(
        converted["backbone.stage16.7.conv2.convs.1.weight"],
        official["body.stage16.7.conv2.convs.1.weight"],
    )
    official["decoder.extra.weight"] = torch.zeros(1)
    with pytest.raises(UnmatchedKeysError, match="decoder.extra.weight"):
        convert_regseg(official)
