"""HL on mask classification (hardseg/modeling/mask_former/hardness_branch.py): gradient
semantics, the closed-form HL gradient, normalisation, isolation from backbone and pixel decoder,
and identical inference with and without the branch."""

import pytest
import torch
from torch.nn import functional as F

from detectron2.modeling import build_model
from detectron2.projects.point_rend.point_features import point_sample
from detectron2.utils.events import EventStorage

from hardseg.modeling.mask_former import HungarianMatcher, MaskClassificationCriterion
from tests.common import random_batch, tiny_cfg

INSTANT = "quick_schedules/maskformer2_R18_instant_test.yaml"
EPS, LAM = 0.1, 0.01


class _PixelCentreCriterion(MaskClassificationCriterion):
    """Pair m samples P distinct pixel centres of the 8x8 maps (pixel indices m*P .. m*P+P-1), so
    point_sample returns exact pixel values and each HL pixel feeds exactly one point."""

    def sample_points(self, src_masks, tgt_masks):
        m, p = len(src_masks), self.num_points
        idx = torch.arange(m * p).view(m, p)
        coords = torch.stack([(idx % 8 + 0.5) / 8, (idx // 8 + 0.5) / 8], dim=-1).float()
        logits = point_sample(src_masks[:, None], coords, align_corners=False)[:, 0]
        labels = point_sample(tgt_masks[:, None].float(), coords, align_corners=False)[:, 0]
        return coords, logits, labels


def _small_case(seed=0):
    g = torch.Generator().manual_seed(seed)
    outputs = {
        "pred_logits": torch.randn(1, 3, 5, generator=g),
        "pred_masks": torch.randn(1, 3, 8, 8, generator=g, requires_grad=True),
    }
    targets = [{"labels": torch.tensor([1, 3]), "masks": torch.rand(2, 8, 8, generator=g) > 0.5}]
    hl = torch.randn(1, 1, 8, 8, generator=g, requires_grad=True)
    crit = _PixelCentreCriterion(
        4,
        HungarianMatcher(num_points=64),
        num_points=5,
        deep_supervision=False,
        hardness_eps=EPS,
        hardness_loss_weight=LAM,
    )
    return crit, outputs, targets, hl


def _point_quantities(crit, outputs, targets, hl):
    """Independent recomputation: z, per-point BCE (softplus form) and the matched pairs (the
    matcher's random points are drawn after the same seed as in the criterion call)."""
    torch.manual_seed(0)
    ((src, tgt),) = crit.matcher(outputs, targets)
    p = crit.num_points
    idx = torch.arange(len(src) * p).view(len(src), p)
    x = outputs["pred_masks"][0, src].flatten(1).gather(1, idx)
    t = targets[0]["masks"][tgt].flatten(1).float().gather(1, idx)
    bce = F.softplus(x) - x * t
    z = hl[0, 0].flatten()[idx]
    return idx, x, t, bce, z


def test_hl_term_value_and_closed_form_gradient():
    crit, outputs, targets, hl = _small_case()
    torch.manual_seed(0)
    losses = crit(outputs, targets, hl)
    idx, _, _, bce, z = _point_quantities(crit, outputs, targets, hl)
    bce, z = bce.detach(), z.detach()
    h = torch.sigmoid(z) + EPS
    s = h.sum()
    w = h / s
    assert losses["loss_hardness"].item() == pytest.approx(-LAM * (w * bce).sum().item(), rel=1e-5)
    (grad,) = torch.autograd.grad(losses["loss_hardness"], hl)
    lbar = (w * bce).sum()
    sig = torch.sigmoid(z)
    closed = -(LAM / s) * sig * (1 - sig) * (bce - lbar)
    expected = torch.zeros(64)
    expected[idx.flatten()] = closed.flatten()
    torch.testing.assert_close(grad.flatten(), expected, rtol=1e-4, atol=1e-9)
    # the HL term sees the loss as a constant
    torch.manual_seed(0)
    term = crit(outputs, targets, hl)["loss_hardness"]
    g = torch.autograd.grad(term, outputs["pred_masks"], allow_unused=True)[0]
    assert g is None or g.abs().max() == 0


def test_weighted_mask_losses_see_w_as_constant():
    crit, outputs, targets, hl = _small_case(seed=1)
    torch.manual_seed(0)
    losses = crit(outputs, targets, hl)
    seg = losses["loss_mask"] + losses["loss_dice"] + losses["loss_ce"]
    g_hl = torch.autograd.grad(seg, hl, retain_graph=True, allow_unused=True)[0]
    assert g_hl is None or g_hl.abs().max() == 0
    # gradient of loss_mask w.r.t. the mask logits = that of 5 * sum(const w * bce)
    idx, x, t, bce, z = _point_quantities(crit, outputs, targets, hl)
    h = torch.sigmoid(z.detach()) + EPS
    w = h / h.sum()
    assert losses["loss_mask"].item() == pytest.approx(5.0 * (w * bce).sum().item(), rel=1e-5)
    (g1,) = torch.autograd.grad(losses["loss_mask"], outputs["pred_masks"])
    (g2,) = torch.autograd.grad(5.0 * (w * bce).sum(), outputs["pred_masks"])
    torch.testing.assert_close(g1, g2, rtol=1e-5, atol=1e-8)


def test_uniform_hl_equals_plain_mask2former_losses():
    """sigmoid(0) everywhere -> uniform w: every loss equals the criterion without HL, and
    loss_hardness = -lambda * loss_mask / MASK_WEIGHT (one process: M = num_masks)."""
    cfg = tiny_cfg(config=INSTANT)
    model = build_model(cfg)
    model.train()
    batch = random_batch(n=2, h=64, w=64)
    with torch.no_grad():
        images = torch.stack([(b["image"] - model.pixel_mean) / model.pixel_std for b in batch])
        outputs, mask_features = model.sem_seg_head(model.backbone(images))
        targets = model.prepare_targets(batch, (64, 64))
        torch.manual_seed(3)
        plain = model.criterion(outputs, targets, None)
        torch.manual_seed(3)
        hl = torch.zeros(2, 1, 16, 16)
        weighted = model.criterion(outputs, targets, hl)
    assert set(weighted) == set(plain) | {"loss_hardness"}
    for k, v in plain.items():
        assert weighted[k].item() == pytest.approx(v.item(), rel=1e-5), k
    assert weighted["loss_hardness"].item() == pytest.approx(
        -LAM * plain["loss_mask"].item() / 5.0, rel=1e-5
    )


def _hl_model(seed=0):
    torch.manual_seed(seed)
    cfg = tiny_cfg("MODEL.HARDNESS.ENABLED", True, config=INSTANT)
    return build_model(cfg)


def test_config_keys_reach_the_criterion():
    model = _hl_model()
    assert model.hardness_branch is not None
    assert (model.criterion.hardness_eps, model.criterion.hardness_loss_weight) == (0.1, 0.01)
    pred = model.hardness_branch.predictor
    assert pred.bias.abs().max() == 0 and pred.weight.std().item() < 0.05
    for path in [
        "cityscapes/semantic-segmentation/maskformer2_R50_hl_bs16_90k.yaml",
        "ade20k/semantic-segmentation/maskformer2_R50_hl_bs16_160k.yaml",
    ]:
        hl = tiny_cfg(config=path).MODEL.HARDNESS
        assert (hl.ENABLED, hl.EPS, hl.LOSS_WEIGHT) == (True, 0.1, 0.01)


def test_light_branch_key_is_refused_on_mask_classification():
    """MODEL.HARDNESS.BRANCH picks HardnessHead's branch; here it used to be ignored silently."""
    with pytest.raises(ValueError, match="MODEL.HARDNESS.BRANCH='light'.*MaskHardnessBranch"):
        build_model(
            tiny_cfg(
                "MODEL.HARDNESS.ENABLED", True, "MODEL.HARDNESS.BRANCH", "light", config=INSTANT
            )
        )


def test_hl_term_reaches_only_the_hl_branch():
    model = _hl_model()
    model.train()
    with EventStorage():
        losses = model(random_batch(n=2, h=64, w=64))
    assert losses["loss_hardness"].item() < 0
    params = dict(model.named_parameters())
    names = list(params)
    grads = torch.autograd.grad(
        losses["loss_hardness"], [params[n] for n in names], retain_graph=True, allow_unused=True
    )
    for n, g in zip(names, grads):
        if n.startswith("hardness_branch."):
            assert g is not None and g.abs().sum() > 0, n
        else:  # backbone, pixel decoder, transformer decoder
            assert g is None or g.abs().max() == 0, n
    rest = sum(v for k, v in losses.items() if k != "loss_hardness")
    grads = torch.autograd.grad(rest, [params[n] for n in names], allow_unused=True)
    for n, g in zip(names, grads):
        if n.startswith("hardness_branch."):
            assert g is None or g.abs().max() == 0, n
    assert any(
        g is not None and g.abs().sum() > 0
        for n, g in zip(names, grads)
        if n.startswith("sem_seg_head.pixel_decoder.")
    )


def test_eval_output_identical_with_and_without_hl_branch():
    with_hl = _hl_model(seed=0)
    plain = build_model(tiny_cfg(config=INSTANT))
    state = {k: v for k, v in with_hl.state_dict().items() if not k.startswith("hardness_branch.")}
    plain.load_state_dict(state, strict=True)
    calls = []
    with_hl.hardness_branch.register_forward_hook(lambda *a: calls.append(1))
    with_hl.eval()
    plain.eval()
    batch = random_batch(n=2, h=64, w=80, with_labels=False)
    with torch.no_grad():
        a, b = with_hl(batch), plain(batch)
    for x, y in zip(a, b):
        assert torch.equal(x["sem_seg"], y["sem_seg"])
    assert calls == []  # the HL branch is not run at inference


# ---- CAC on mask_features (docs/methods/cac.md §8) -------------------------------------------------
def test_cac_on_mask_features_trains_a_step_and_is_skipped_in_eval():
    torch.manual_seed(0)
    model = build_model(tiny_cfg("MODEL.CAC.ENABLED", True, "MODEL.CAC.THRESHOLD", 4,
                                 "MODEL.CAC.PROJ_CHANNELS", 32, config=INSTANT))  # fmt: skip
    model.train()
    batch = random_batch(n=2, h=64, w=64, num_classes=7)
    for b in batch:  # 16-pixel column blocks: 4 x 16 pixels per class at 1/4, over the threshold
        b["sem_seg"] = (torch.arange(64)[None, :] // 16 % 7).expand(64, 64).clone()
    with EventStorage(0):
        losses = model(batch)
    assert {"loss_ce", "loss_mask", "loss_dice", "loss_sem_seg_weight", "loss_cac"} <= set(losses)
    assert all(torch.isfinite(v) for v in losses.values()) and losses["loss_cac"] > 0
    losses["loss_cac"].backward(retain_graph=True)
    assert model.cac_branch.proj.conv.weight.grad.abs().sum() > 0
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.sem_seg_head.parameters())  # fmt: skip
    model.zero_grad(set_to_none=True)
    losses["loss_sem_seg_weight"].backward()  # detached X: reaches the weight branch only
    assert model.cac_branch.weight_branch.classifier.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.sem_seg_head.parameters())
    calls = []
    model.cac_branch.register_forward_hook(lambda *a: calls.append(1))
    model.eval()
    with torch.no_grad():
        model(random_batch(n=1, h=64, w=64, with_labels=False))
    assert calls == []


def test_semantic_log_probs_are_the_normalised_semantic_inference():
    from hardseg.modeling.mask_former import semantic_inference
    from hardseg.modeling.mask_former.cac_branch import semantic_log_probs

    torch.manual_seed(0)
    cls, masks = torch.randn(2, 5, 4), torch.randn(2, 5, 3, 3)
    out = semantic_log_probs(cls, masks).exp()
    for i in range(2):
        scores = semantic_inference(cls[i], masks[i])
        torch.testing.assert_close(out[i], scores / scores.sum(0, keepdim=True))
