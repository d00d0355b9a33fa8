"""SegNeXt: MSCAN sizes against the official release, the strip-conv attention's reach, the
seeded NMF of the LightHam head, a toy training step (plain and with HL), and the converter."""

import json
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

from detectron2.modeling import META_ARCH_REGISTRY, build_model
from detectron2.utils.events import EventStorage

from hardseg.modeling.backbone import MSCAN, MSCAN_VARIANTS
from hardseg.modeling.backbone.mscan import MultiScaleConvAttention
from hardseg.modeling.heads import LightHamHead
from hardseg.modeling.heads.ham_head import NMF2D
from hardseg.weights import UnmatchedKeysError, convert_mscan
from hardseg.weights.mapping import check_against
from tests.common import random_batch, tiny_cfg

FIXTURES = Path(__file__).parent / "fixtures"
TINY = "hardshapes/segnext_tiny_bs8_600it.yaml"

# Visual-Attention-Network/SegNeXt README (ADE20K models, 150 classes): params in M.
PUBLISHED_M = {"t": 4.3, "s": 13.9, "b": 27.6, "l": 48.9}
HEADS = {"t": (256, 256, 16), "s": (256, 256, 16), "b": (512, 512, 64), "l": (1024, 1024, 64)}


@pytest.mark.parametrize("variant", sorted(PUBLISHED_M))
def test_parameter_counts_match_the_release(variant):
    ham, channels, rank = HEADS[variant]
    with torch.device("meta"):
        bb = MSCAN(**MSCAN_VARIANTS[variant], norm="BN")
        head = LightHamHead(
            bb.output_shape(), num_classes=150, ham_channels=ham, channels=channels, rank=rank
        )
    n = sum(p.numel() for m in (bb, head) for p in m.parameters()) / 1e6
    assert abs(n - PUBLISHED_M[variant]) <= 0.02 * PUBLISHED_M[variant], n


def test_attention_reaches_twelve_pixels():
    """5x5 depthwise (reach 2) then 1x21 + 21x1 strips (reach 10): the output at a pixel depends
    on inputs up to 12 pixels away along rows, columns and diagonals, and no further."""
    torch.manual_seed(0)
    attn = MultiScaleConvAttention(4)
    x = torch.randn(1, 4, 31, 31, requires_grad=True)
    attn(x)[0, :, 15, 15].sum().backward()
    reach = x.grad[0].abs().sum(0) > 0
    assert reach[15, 3] and reach[15, 27] and reach[3, 15] and reach[3, 3]
    assert not reach[15, 2] and not reach[15, 28] and not reach[2, 15] and not reach[2, 2]


def test_nmf_is_seeded_in_evaluation_and_reconstructs_a_low_rank_map():
    torch.manual_seed(0)
    bases, coef = torch.rand(2, 16, 4), torch.rand(2, 4, 64)
    x = torch.bmm(bases, coef).reshape(2, 16, 8, 8)  # non-negative, rank 4
    nmf = NMF2D(rank=4, eval_steps=7).eval()
    a, b = nmf(x), nmf(x)
    assert torch.equal(a, b)  # the same bases at every evaluation call
    nmf.eval_seed = 1
    assert not torch.equal(nmf(x), a)
    assert (a >= 0).all()
    rel = ((a - x).norm() / x.norm()).item()
    assert rel < 0.1, rel
    nmf.train()
    torch.manual_seed(1)
    c = nmf(x)
    torch.manual_seed(2)
    assert not torch.equal(nmf(x), c)  # training draws new bases


@pytest.mark.parametrize("hl", [False, True])
def test_tiny_segnext_trains_and_infers(hl):
    opts = ["MODEL.SEM_SEG_HEAD.NAME", "HardnessHead", "MODEL.HARDNESS.ENABLED", True,
            "MODEL.HARDNESS.HEAD_NAME", "LightHamHead"] if hl else []  # fmt: skip
    torch.manual_seed(0)
    model = build_model(tiny_cfg(*opts, config=TINY))
    model.train()
    with EventStorage():
        losses = model(random_batch(n=2, h=64, w=96, num_classes=7))
    assert ("loss_hardness" in losses) == hl
    sum(losses.values()).backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    model.eval()
    with torch.no_grad():
        batch = random_batch(n=1, h=70, w=90, with_labels=False)
        out = model(batch)
        assert torch.equal(model(batch)[0]["sem_seg"], out[0]["sem_seg"])  # seeded NMF
    assert out[0]["sem_seg"].shape == (7, 70, 90)


def _fixture(name):
    data = json.loads((FIXTURES / name).read_text())
    return OrderedDict(
        (k, torch.full(shape, float(i)) if shape else torch.tensor(i))
        for i, (k, shape) in enumerate(data["keys"].items())
    )


def _segnext_t(num_classes):
    cfg = tiny_cfg(config="ade20k/semantic-segmentation/segnext_T_512_bs16_160k.yaml")
    cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES = num_classes
    with torch.device("meta"):
        return META_ARCH_REGISTRY.get(cfg.MODEL.META_ARCHITECTURE)(cfg)


def test_official_segmentation_checkpoint_converts_strictly():
    """Key list and shapes written from SegNeXt's mscan.py and mmseg's ham_head.py
    (tests/modeling/fixtures/segnext_t_official_ade_keys.json)."""
    official = _fixture("segnext_t_official_ade_keys.json")
    converted, dropped = convert_mscan(official)
    assert dropped == []
    check_against(converted, _segnext_t(150))
    assert torch.equal(
        converted["sem_seg_head.predictor.weight"], official["decode_head.conv_seg.weight"]
    )


def test_imagenet_encoder_converts_and_unknown_keys_are_named():
    official = OrderedDict(
        (k[len("backbone.") :], v)
        for k, v in _fixture("segnext_t_official_ade_keys.json").items()
        if k.startswith("backbone.")
    )
    official["head.weight"] = torch.zeros(1000, 256)
    converted, dropped = convert_mscan(official)
    assert dropped == ["head.weight"]
    assert set(converted) == {k for k in _segnext_t(19).state_dict() if k.startswith("backbone.")}
    official["block9.0.x"] = torch.zeros(1)
    with pytest.raises(UnmatchedKeysError, match="block9.0.x"):
        convert_mscan(official)
