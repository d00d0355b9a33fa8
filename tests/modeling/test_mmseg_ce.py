"""mmseg 0.28's OHEM pixel sampler + class-weighted CE with avg_non_ignore=False, transcribed here
step by step, against HardSeg's 'ohem_cross_entropy' with selection='mmseg'; and CAC's weight
branch sharing the main head's kept mask."""

import pytest
import torch
from torch.nn import functional as F

from hardseg.config.cac import CITYSCAPES_CLASS_WEIGHTS
from hardseg.modeling.losses import build_sem_seg_loss


def mmseg_reference(logits, labels, thresh, min_kept, class_weight):
    """OHEMPixelSampler.sample then CrossEntropyLoss(reduction='mean', avg_non_ignore=False)."""
    with torch.no_grad():
        batch_kept = min_kept * labels.size(0)
        valid_mask = labels != 255
        seg_weight = logits.new_zeros(size=labels.size())
        valid_seg_weight = seg_weight[valid_mask]
        seg_prob = F.softmax(logits, dim=1)
        tmp = labels.clone()
        tmp[tmp == 255] = 0
        seg_prob = seg_prob.gather(1, tmp.unsqueeze(1)).squeeze(1)
        sort_prob, _ = seg_prob[valid_mask].sort()
        min_threshold = (
            sort_prob[min(batch_kept, sort_prob.numel() - 1)] if sort_prob.numel() else 0.0
        )
        threshold = max(float(min_threshold), thresh)
        valid_seg_weight[seg_prob[valid_mask] < threshold] = 1.0
        seg_weight[valid_mask] = valid_seg_weight
    w = None if class_weight is None else logits.new_tensor(class_weight)
    loss = F.cross_entropy(logits, labels, weight=w, reduction="none", ignore_index=255)
    return (loss * seg_weight).mean()


def _options(min_kept, weights):
    return [{"name": "ohem_cross_entropy", "options": dict(
        thresh=0.9, min_kept=min_kept, min_kept_per_image=True, normalize="all_pixels",
        selection="mmseg", class_weights=weights)}]  # fmt: skip


@pytest.mark.parametrize("min_kept", [0, 5, 40, 10_000])
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_mmseg(min_kept, weighted):
    g = torch.Generator().manual_seed(min_kept)
    logits = (3 * torch.randn(2, 19, 6, 7, generator=g, dtype=torch.float64)).requires_grad_()
    labels = torch.randint(0, 19, (2, 6, 7), generator=g)
    labels[0, :2] = 255
    weights = CITYSCAPES_CLASS_WEIGHTS if weighted else None
    loss = build_sem_seg_loss(_options(min_kept, weights), 255)
    got = sum(loss(logits, labels).values())
    ref = mmseg_reference(logits, labels, 0.9, min_kept, weights)
    torch.testing.assert_close(got, ref)
    torch.testing.assert_close(*(torch.autograd.grad(v, logits)[0] for v in (got, ref)))


def test_all_ignored_is_zero():
    logits = torch.randn(1, 3, 4, 4, requires_grad=True)
    loss = build_sem_seg_loss(_options(5, None), 255)
    assert sum(loss(logits, torch.full((1, 4, 4), 255)).values()).item() == 0


def test_weight_branch_uses_the_main_heads_ohem_mask():
    from detectron2.utils.events import EventStorage

    from tests.modeling.test_cac_head import _inputs, _model

    o = "MODEL.SEM_SEG_LOSS.OHEM_CROSS_ENTROPY."
    model = _model("MODEL.SEM_SEG_HEAD.LOSS_TYPE", "ohem_cross_entropy", o + "SELECTION", "mmseg",
                   o + "THRESH", 0.0, o + "MIN_KEPT", 50, o + "MIN_KEPT_PER_IMAGE", True,
                   o + "NORMALIZE", "all_pixels")  # fmt: skip
    head = model.sem_seg_head
    images, targets = _inputs(model)
    with EventStorage(0):
        features = model.backbone(images)
        logits, taps = head.seg.layers(features, return_features=True)
        losses = head.losses(logits, targets, features=features, head_features=taps)
    wl = head.weight_branch(taps["decoder_concat"])
    up = lambda t: F.interpolate(t, size=targets.shape[-2:], mode="bilinear", align_corners=False)
    # The kept mask from the main logits, applied to the weight branch's CE.
    probs = up(logits).softmax(1).gather(1, targets.clamp(max=6)[:, None])[:, 0]
    valid = targets != 255
    ranked = probs[valid].sort().values
    kept = valid & (probs < max(0.0, ranked[min(100, valid.sum() - 1)].item()))
    ce = F.cross_entropy(up(wl), targets, ignore_index=255, reduction="none")
    torch.testing.assert_close(losses["loss_sem_seg_weight"], 1.5 * (ce * kept).mean())
    own = mmseg_reference(up(wl), targets, 0.0, 50, None)
    assert not torch.isclose(losses["loss_sem_seg_weight"], 1.5 * own)
