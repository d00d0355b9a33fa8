"""MODEL.HARDNESS.NORMALIZER (docs/methods/hl.md §8.5): HL's weights normalised over every pixel
(official) or over the pixels the decode loss keeps (OHEM inside U2PL), in the formula, in
HardnessHead and in U2PL + HL."""

import math

import pytest
import torch
from torch.nn import functional as F

from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from hardseg.modeling.losses import hardness_losses, hardness_weights
from tests.common import random_batch, tiny_cfg

EPS, LAMBDA = 0.1, 0.01


@pytest.mark.parametrize("masked", [False, True], ids=["all_pixels", "kept_pixels"])
def test_weights_and_hl_gradient_follow_the_formula(masked):
    g = torch.Generator().manual_seed(0)
    z = torch.randn(2, 5, 6, generator=g, requires_grad=True)
    kept = torch.rand(2, 5, 6, generator=g) > 0.4
    loss = torch.rand(2, 5, 6, generator=g) * 3 * kept  # dropped pixels have loss 0
    w = hardness_weights(z, EPS, kept if masked else None)
    _, l_hl = hardness_losses(w, loss, LAMBDA)
    l_hl.backward()
    # by hand: h = sigmoid(z) + eps over the normalised set P; w = h / S, S = sum_P h; and
    # dL_HL/dz_i = -(lambda / S) sigmoid'(z_i) (l_i - lbar) on P, 0 off P, lbar = sum_P w l
    s = torch.sigmoid(z.detach())
    in_set = kept if masked else torch.ones_like(kept)
    h = (s + EPS) * in_set
    S = h.sum()
    torch.testing.assert_close(w.detach(), h / S)
    lbar = (h / S * loss).sum()
    grad = -(LAMBDA / S) * s * (1 - s) * (loss - lbar) * in_set
    torch.testing.assert_close(z.grad, grad)
    dropped = ~kept
    if masked:  # dropped pixels: weight 0 and no push
        assert (w.detach()[dropped] == 0).all() and (z.grad[dropped] == 0).all()
    else:  # official: every dropped pixel (l = 0 < lbar) is pushed towards the eps floor
        assert (z.grad[dropped] > 0).all()


def _hl_model(normalizer):
    cfg = tiny_cfg(
        "MODEL.SEM_SEG_HEAD.NAME", "HardnessHead",
        "MODEL.HARDNESS.ENABLED", "True",
        "MODEL.HARDNESS.HEAD_NAME", "DeepLabV3PlusPerPixelHead",
        "MODEL.HARDNESS.NORMALIZER", normalizer,
        "MODEL.SEM_SEG_HEAD.LOSS_TYPE", "ohem_cross_entropy",
        "MODEL.SEM_SEG_LOSS.OHEM_CROSS_ENTROPY.THRESH", 0.7,
        "MODEL.SEM_SEG_LOSS.OHEM_CROSS_ENTROPY.MIN_KEPT", 0,
    )  # fmt: skip
    torch.manual_seed(0)
    model = build_model(cfg)
    torch.nn.init.zeros_(model.sem_seg_head.hl.predictor.weight)  # uniform HL weights
    return model


@pytest.mark.parametrize("normalizer", ["all_pixels", "kept_pixels"])
def test_ohem_supervised_term_under_each_normalizer(normalizer):
    """Image 0 confidently right (p_gt ~ 1 > 0.7: OHEM drops it), image 1 uniform (p = 1/K:
    kept, l = log K). all_pixels: sum(l) / N_all = log K / 2; kept_pixels: log K, the OHEM mean."""
    model = _hl_model(normalizer)
    head = model.sem_seg_head
    k = head.seg.predictor.out_channels
    images = torch.randn(2, 3, 32, 32)
    features = model.backbone(images)
    logits = torch.zeros(2, k, 8, 8)
    logits[0, 0] = 20.0
    targets = torch.zeros(2, 32, 32, dtype=torch.long)
    with EventStorage():
        losses = head.losses(logits, targets, features=features)
    expected = math.log(k) / (2 if normalizer == "all_pixels" else 1)
    assert losses["loss_sem_seg"].item() == pytest.approx(expected, rel=1e-5)
    assert losses["loss_hardness"].item() == pytest.approx(-LAMBDA * expected, rel=1e-5)


def test_unknown_normalizer_is_named():
    with pytest.raises(ValueError, match="MODEL.HARDNESS.NORMALIZER"):
        _hl_model("kept")


def test_u2pl_hl_kept_pixels_normalises_over_the_ohem_kept_labeled_pixels():
    cfg = tiny_cfg(
        "MODEL.HARDNESS.NORMALIZER", "kept_pixels",
        "MODEL.SEM_SEG_HEAD.LOSS_TYPE", "ohem_cross_entropy",
        "MODEL.SEM_SEG_LOSS.OHEM_CROSS_ENTROPY.THRESH", 0.0,
        "MODEL.SEM_SEG_LOSS.OHEM_CROSS_ENTROPY.MIN_KEPT", 300,
        config="hardshapes/u2pl_deeplabv3plus_R18_hl_instant_test_1-16.yaml",
    )  # fmt: skip
    torch.manual_seed(0)
    model = build_model(cfg)
    head = model.student.segmentor.sem_seg_head
    seen = {}
    hooks = [
        m.register_forward_hook(lambda mod, i, o, key=key: seen.__setitem__(key, o.detach()))
        for key, m in (("logits", head.seg.predictor), ("z", head.hl.predictor))
    ]
    batch = {
        "labeled": random_batch(2, 32, 32, seed=1),
        "unlabeled": random_batch(2, 32, 32, seed=101, with_labels=False),
    }
    model.train()
    with EventStorage(0):
        losses = model(batch)
    for h in hooks:
        h.remove()
    targets = torch.stack([x["sem_seg"] for x in batch["labeled"]])
    logits = F.interpolate(seen["logits"][:2], size=(32, 32), mode="bilinear")
    ce = F.cross_entropy(logits, targets, ignore_index=255, reduction="none")
    # OHEM by hand: keep p_gt <= max(thresh 0, 300th smallest p_gt) among labelled pixels
    valid = targets != 255
    p = torch.exp(-ce)
    t = max(0.0, torch.kthvalue(p[valid], 300).values.item())
    kept = valid & (p <= t)
    assert 0 < kept.sum() < valid.sum()
    z = F.interpolate(seen["z"], size=(32, 32), mode="bilinear")[:, 0]
    h = (torch.sigmoid(z) + EPS) * kept
    expected = (h / h.sum() * ce * kept).sum()
    torch.testing.assert_close(losses["loss_sem_seg"].detach(), expected, rtol=1e-5, atol=1e-7)
