"""STDC-Seg: module widths, the Laplacian detail targets, a toy training step with the auxiliary
and detail losses, and the converter of the official checkpoints."""

import json
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

from detectron2.modeling import META_ARCH_REGISTRY, build_model
from detectron2.utils.events import EventStorage

from hardseg.modeling.backbone.stdc import STDCModule
from hardseg.modeling.heads.stdc_head import detail_targets, dice_loss
from hardseg.weights import UnmatchedKeysError, convert_stdc
from hardseg.weights.mapping import check_against
from tests.common import random_batch, tiny_cfg

FIXTURES = Path(__file__).parent / "fixtures"
TINY = "hardshapes/stdc1_tiny_bs8_600it.yaml"


def test_stdc_module_widths_and_downsampling():
    m = STDCModule(64, 256, num_convs=4, stride=2)
    assert [c.conv.out_channels for c in m.conv_list] == [128, 64, 32, 32]
    assert m(torch.randn(1, 64, 16, 16)).shape == (1, 256, 8, 8)
    assert STDCModule(256, 256, 4, 1)(torch.randn(1, 256, 5, 7)).shape == (1, 256, 5, 7)


def test_detail_targets_mark_the_boundary_pixels():
    labels = torch.zeros(1, 16, 16, dtype=torch.long)
    labels[:, :, 8:] = 2  # a vertical edge between columns 7 and 8
    target = detail_targets(labels, ignore_value=255)[0, 0]
    # stride 1: the Laplacian of the ids is > 0 only on the higher side (column 8); the strided
    # maps (coarser, weights 0.3 / 0.1) add neighbouring columns. The zero padding outside the
    # image acts as label 0, so the border of the label-2 region is an edge too (as in the
    # official conv with padding 1). Elsewhere: 0.
    inner = target[2:14]
    assert inner[:, 8].eq(1).all() and inner[:, 15].eq(1).all()
    assert inner[:, :6].eq(0).all() and inner[:, 11:15].eq(0).all()
    assert target[0, 8:].eq(1).all() and target[0, :6].eq(0).all()
    ignored = labels.clone()
    ignored[:] = 255
    assert detail_targets(ignored, 255).sum() == 0  # ignored pixels count as 0: no edges


def test_dice_loss_values():
    t = torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    big = torch.tensor([[50.0, -50.0, 50.0, -50.0]])  # p = t
    assert dice_loss(big, t).item() == pytest.approx(0.0, abs=1e-6)
    zero = torch.zeros(1, 4)  # p = 0.5: 1 - (2 * 1 + 1) / (2 + 2 + 1)
    assert dice_loss(zero, t).item() == pytest.approx(1 - 3 / 5)


def test_tiny_stdc_trains_with_auxiliary_and_detail_losses_and_infers():
    torch.manual_seed(0)
    model = build_model(tiny_cfg(config=TINY))
    model.train()
    with EventStorage():
        losses = model(random_batch(n=2, h=64, w=96, num_classes=7))
    assert set(losses) == {
        "loss_sem_seg",
        "loss_sem_seg_aux16",
        "loss_sem_seg_aux32",
        "loss_detail_bce",
        "loss_detail_dice",
    }
    sum(losses.values()).backward()
    assert model.sem_seg_head.conv_out_sp8.conv_out.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        out = model(random_batch(n=1, h=70, w=90, with_labels=False))
    assert out[0]["sem_seg"].shape == (7, 70, 90)


def _fixture(name):
    data = json.loads((FIXTURES / name).read_text())
    return OrderedDict(
        (k, torch.full(shape, float(i)) if shape else torch.tensor(i))
        for i, (k, shape) in enumerate(data["keys"].items())
    )


def test_official_stdc1_seg_checkpoint_converts_strictly():
    """Keys and shapes written from STDC-Seg's stdcnet.py / model_stages.py
    (tests/modeling/fixtures/stdc1_official_cityscapes_keys.json): the converted weights fill
    exactly the STDC1 model of the Cityscapes config, so its parameter count is the official
    model's (backbone 5.32 M + decoder 3.25 M at 19 classes, detail and auxiliary heads
    included)."""
    official = _fixture("stdc1_official_cityscapes_keys.json")
    converted, dropped = convert_stdc(official)
    assert any(k.startswith("conv_out_sp2.") for k in dropped)
    assert any(k.startswith("cp.backbone.fc.") for k in dropped)
    cfg = tiny_cfg(config="cityscapes/semantic-segmentation/stdc1_512x1024_bs16_80k.yaml")
    with torch.device("meta"):
        model = META_ARCH_REGISTRY.get(cfg.MODEL.META_ARCHITECTURE)(cfg)
    check_against(converted, model)
    n = sum(p.numel() for p in model.parameters()) / 1e6
    assert n == pytest.approx(8.5729, abs=1e-3)
    assert torch.equal(
        converted["sem_seg_head.predictor.weight"], official["conv_out.conv_out.weight"]
    )
    official["cp.extra.weight"] = torch.zeros(1)
    with pytest.raises(UnmatchedKeysError, match="cp.extra.weight"):
        convert_stdc(official)
