"""Every loss of SEM_SEG_LOSS_REGISTRY: values worked out by hand or from the formula on tiny
tensors, the shared properties (perfect prediction is the minimum, ignored pixels change nothing,
finite gradients, all-ignore batches give 0), distance maps, and the config keys."""

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from detectron2.config import get_cfg

from hardseg.config import add_hardseg_config
from hardseg.config.losses import loss_options_node
from hardseg.modeling.losses import (
    SEM_SEG_LOSS_REGISTRY,
    BoundaryLoss,
    CEDiceLoss,
    ComboLoss,
    DiceLoss,
    DistancePenalizedCrossEntropy,
    ExpLogLoss,
    FocalTverskyLoss,
    GDLBoundaryLoss,
    GeneralizedDiceLoss,
    HausdorffDTLoss,
    LovaszSoftmaxLoss,
    OhemCrossEntropy,
    PixelCrossEntropy,
    SoftIoULoss,
    SoftmaxFocalLoss,
    TverskyLoss,
    WeightedSumLoss,
    build_sem_seg_loss,
    dist_penalty_map,
    loss_spec_from_config,
    registered_losses,
    signed_distance_maps,
)

IGN = 255
DT = torch.float64


def logits_from_probs(probs):
    """probs (P, K) rows summing to 1 -> logits (1, K, 1, P) with exactly these softmaxes."""
    p = torch.tensor(probs, dtype=DT)
    return torch.log(p.clamp(min=1e-300)).T.reshape(1, p.shape[1], 1, p.shape[0])


def tgt(labels):
    return torch.tensor(labels, dtype=torch.long).view(1, 1, -1)


def extra_inputs(loss, targets, k):
    """The distance maps a loss needs, computed from the targets as the mapper does."""
    out = {}
    for name in getattr(loss, "required_inputs", ()):
        maps = []
        for t in targets.numpy():
            if name == "signed_dist":
                maps.append(torch.from_numpy(signed_distance_maps(t, k)))
            else:
                maps.append(torch.from_numpy(dist_penalty_map(t, IGN)))
        out[name] = torch.stack(maps).to(DT)
    return out


# ---------------------------------------------------------------- cross-entropy family


def test_cross_entropy_weights_and_smoothing_follow_pytorch_semantics():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(2, 3, 4, 5, generator=g, dtype=DT)
    y = torch.randint(0, 3, (2, 4, 5), generator=g)
    y[0, 0] = IGN
    w = [0.5, 2.0, 1.5]
    for eps in (0.0, 0.1):
        loss = PixelCrossEntropy(IGN, class_weights=w, label_smoothing=eps)
        ref = F.cross_entropy(
            z, y, weight=torch.tensor(w, dtype=DT), ignore_index=IGN, label_smoothing=eps
        )
        torch.testing.assert_close(loss(z, y), ref)
    # by hand: two pixels, p(y) = 3/4 (class 1, weight 3) and 1/2 (class 0, weight 1)
    z2 = torch.stack([torch.tensor([0.0, 0.0], dtype=DT), torch.tensor([math.log(3), 0], dtype=DT)])
    z2 = z2.view(1, 2, 1, 2)  # pixel 0: (0, log 3) -> p1 = 3/4; pixel 1: (0, 0) -> p0 = 1/2
    y2 = tgt([1, 0])
    weighted = PixelCrossEntropy(IGN, class_weights=[1.0, 3.0])
    expected = (3 * -math.log(0.75) + 1 * -math.log(0.5)) / (3 + 1)
    assert weighted(z2, y2).item() == pytest.approx(expected)
    # mmseg scale: divide by all pixels, ignored ones included
    y3 = tgt([1, IGN])
    allpix = PixelCrossEntropy(IGN, avg_over_all_pixels=True)
    assert allpix(z2, y3).item() == pytest.approx(-math.log(0.75) / 2)


def test_ohem_selection_by_hand():
    # GT-class probabilities q = 0.9, 0.6, 0.2, 0.8 (class 0), plus an ignored pixel with q ~ 0
    z = logits_from_probs([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.8, 0.2], [0.001, 0.999]])
    y = tgt([0, 0, 0, 0, IGN])
    l = [-math.log(q) for q in (0.9, 0.6, 0.2, 0.8)]
    # thresh 0.7, no min_kept: keep q <= 0.7 -> {0.6, 0.2}
    assert OhemCrossEntropy(IGN, 0.7, 0)(z, y).item() == pytest.approx((l[1] + l[2]) / 2)
    # min_kept 3: the 3rd smallest q is 0.8 > 0.7 -> keep q <= 0.8 -> {0.6, 0.2, 0.8}
    ohem3 = OhemCrossEntropy(IGN, 0.7, 3)
    assert ohem3(z, y).item() == pytest.approx((l[1] + l[2] + l[3]) / 3)
    assert ohem3.kept_mask(z, y).view(-1).tolist() == [False, True, True, True, False]
    # mmseg normaliser: all 5 pixels
    all_pix = OhemCrossEntropy(IGN, 0.7, 3, normalize="all_pixels")
    assert all_pix(z, y).item() == pytest.approx((l[1] + l[2] + l[3]) / 5)
    # min_kept per image x N (N = 1 here) and min_kept >= N_v keeps every valid pixel
    assert OhemCrossEntropy(IGN, 0.0, 10)(z, y).item() == pytest.approx(sum(l) / 4)
    # thresh 0 and min_kept K: the mean of the K largest losses
    assert OhemCrossEntropy(IGN, 0.0, 2)(z, y).item() == pytest.approx((l[2] + l[1]) / 2)
    # per-pixel form: l at kept pixels
    torch.testing.assert_close(
        ohem3.pixel_loss(z, y).view(-1), torch.tensor([0, l[1], l[2], l[3], 0], dtype=DT)
    )


def test_ohem_with_thresh_one_is_cross_entropy():
    g = torch.Generator().manual_seed(1)
    z = torch.randn(2, 4, 6, 6, generator=g, dtype=DT)
    y = torch.randint(0, 4, (2, 6, 6), generator=g)
    y[1, :3] = IGN
    torch.testing.assert_close(
        OhemCrossEntropy(IGN, 1.0, 0)(z, y), F.cross_entropy(z, y, ignore_index=IGN)
    )


def test_focal_by_hand_and_gamma_zero_is_ce():
    z = logits_from_probs([[0.9, 0.1], [0.3, 0.7], [0.5, 0.5]])
    y = tgt([0, 0, 1])
    # (1 - q)^2 (-ln q) with q = 0.9, 0.3, 0.5, alpha = (1, 2) by class
    terms = [0.1**2 * -math.log(0.9), 0.7**2 * -math.log(0.3), 2 * 0.5**2 * -math.log(0.5)]
    assert SoftmaxFocalLoss(IGN, 2.0, alpha=[1.0, 2.0])(z, y).item() == pytest.approx(
        sum(terms) / 3
    )
    g = torch.Generator().manual_seed(2)
    z = torch.randn(2, 3, 5, 5, generator=g, dtype=DT)
    y = torch.randint(0, 3, (2, 5, 5), generator=g)
    y[0, 0] = IGN
    torch.testing.assert_close(
        SoftmaxFocalLoss(IGN, 0.0)(z, y), F.cross_entropy(z, y, ignore_index=IGN)
    )


def test_dist_penalty_ce_by_hand():
    z = logits_from_probs([[0.5, 0.5], [0.8, 0.2]])
    y = tgt([0, 0])
    d = torch.tensor([[[1.0, 0.25]]], dtype=DT)
    loss = DistancePenalizedCrossEntropy(IGN, scale=2.0)
    expected = ((1 + 2 * 1.0) * -math.log(0.5) + (1 + 2 * 0.25) * -math.log(0.8)) / 2
    assert loss(z, y, dist_penalty=d).item() == pytest.approx(expected)
    zero = torch.zeros_like(d)
    torch.testing.assert_close(
        loss(z, y, dist_penalty=zero), F.cross_entropy(z, y, ignore_index=IGN)
    )


# ---------------------------------------------------------------- distance maps


def test_dist_penalty_map_of_a_one_pixel_square():
    label = np.zeros((7, 7), np.uint8)
    label[3, 3] = 1
    d = dist_penalty_map(label, IGN, exact=True)
    # boundary = the centre and its 4 neighbours; the farthest pixels (corners) are sqrt(13) away
    assert d[3, 3] == d[2, 3] == d[3, 4] == 1.0
    assert d[0, 0] == pytest.approx(0.0)
    assert d[1, 3] == pytest.approx(1 - 1 / math.sqrt(13), abs=1e-6)
    # the default (chamfer distances, within 2 %) is within 0.04 of it
    np.testing.assert_allclose(dist_penalty_map(label, IGN), d, atol=0.04)
    label[0, :] = IGN
    assert (dist_penalty_map(label, IGN)[0] == 0).all()
    assert not dist_penalty_map(np.zeros((4, 4), np.uint8), IGN).any()  # no boundary


def test_signed_distance_maps_by_hand_and_under_flip():
    label = np.zeros((7, 7), np.uint8)
    label[3, 3] = 1
    phi = signed_distance_maps(label, 3)
    assert phi[1, 3, 3] == 0 and phi[1, 0, 0] == pytest.approx(math.sqrt(18))
    assert phi[0, 3, 3] == 1 and phi[0, 2, 3] == 0
    assert phi[0, 0, 0] == pytest.approx(-(math.sqrt(18) - 1))
    assert not phi[2].any()  # absent class
    assert not signed_distance_maps(np.ones((3, 3), np.uint8), 2).any()  # full class -> 0
    np.testing.assert_array_equal(
        signed_distance_maps(np.array([[0, 0, 1]]), 2), [[[-1, 0, 1]], [[2, 1, 0]]]
    )
    # the mapper computes maps after augmentation: maps of a flipped label are flipped maps
    rng = np.random.default_rng(0)
    lab = rng.integers(0, 3, (9, 11)).astype(np.uint8)
    lab[:2] = IGN
    flipped = signed_distance_maps(np.ascontiguousarray(lab[:, ::-1]), 3)
    np.testing.assert_allclose(flipped, signed_distance_maps(lab, 3)[:, :, ::-1])
    np.testing.assert_allclose(
        dist_penalty_map(lab[:, ::-1], IGN), dist_penalty_map(lab, IGN)[:, ::-1]
    )


# ---------------------------------------------------------------- region losses

# One image, 3 pixels, K = 3: targets (0, 0, 1); class 2 absent but predicted a little.
P3 = [[0.7, 0.2, 0.1], [0.5, 0.3, 0.2], [0.2, 0.6, 0.2]]
Y3 = [0, 0, 1]
TP = [1.2, 0.6, 0.0]
PP = [1.4, 1.1, 0.5]
GG = [2.0, 1.0, 0.0]


def test_dice_iou_tversky_by_hand():
    z, y = logits_from_probs(P3), tgt(Y3)
    dice = [2 * TP[c] / (PP[c] + GG[c]) for c in range(2)]
    assert DiceLoss(IGN, smooth=0)(z, y).item() == pytest.approx(1 - sum(dice) / 2)
    # "all": class 2 (absent) has Dice s / (0.5 + s) ~ 0
    s = 1e-5
    dice_all = [(2 * TP[c] + s) / (PP[c] + GG[c] + s) for c in range(3)]
    assert DiceLoss(IGN, class_avg="all")(z, y).item() == pytest.approx(1 - sum(dice_all) / 3)
    # squared denominator (V-Net): sum p^2 + G
    p2 = [sum(r[c] ** 2 for r in P3) for c in range(2)]
    sq = [2 * TP[c] / (p2[c] + GG[c]) for c in range(2)]
    assert DiceLoss(IGN, smooth=0, squared=True)(z, y).item() == pytest.approx(1 - sum(sq) / 2)
    assert DiceLoss(IGN, smooth=0, log_loss=True)(z, y).item() == pytest.approx(
        -sum(math.log(d) for d in dice) / 2
    )
    iou = [TP[c] / (PP[c] + GG[c] - TP[c]) for c in range(2)]
    assert SoftIoULoss(IGN, smooth=0)(z, y).item() == pytest.approx(1 - sum(iou) / 2)
    ti = [TP[c] / (TP[c] + 0.3 * (PP[c] - TP[c]) + 0.7 * (GG[c] - TP[c])) for c in range(2)]
    assert TverskyLoss(IGN, smooth=0)(z, y).item() == pytest.approx(1 - sum(ti) / 2)
    # Tversky 0.5/0.5 is Dice, 1/1 is IoU
    assert TverskyLoss(IGN, 0, fp_weight=0.5, fn_weight=0.5)(z, y).item() == pytest.approx(
        1 - sum(dice) / 2
    )
    assert TverskyLoss(IGN, 0, fp_weight=1, fn_weight=1)(z, y).item() == pytest.approx(
        1 - sum(iou) / 2
    )
    ft = FocalTverskyLoss(IGN, smooth=0, exponent=0.75)
    assert ft(z, y).item() == pytest.approx(sum((1 - t) ** 0.75 for t in ti) / 2)
    ft_after = FocalTverskyLoss(IGN, smooth=0, exponent=0.75, power="after_mean")
    assert ft_after(z, y).item() == pytest.approx((sum(1 - t for t in ti) / 2) ** 0.75)


def test_dice_batch_mode_and_per_image_mean():
    z = torch.cat([logits_from_probs(P3), logits_from_probs(P3[::-1])])
    y = torch.cat([tgt(Y3), tgt(Y3[::-1])])
    per_image = DiceLoss(IGN, smooth=0)(z, y)
    torch.testing.assert_close(per_image, DiceLoss(IGN, smooth=0)(z[:1], y[:1]))  # mirror image
    # batch: counts doubled, same ratios
    torch.testing.assert_close(DiceLoss(IGN, smooth=0, batch=True)(z, y), per_image)


def test_generalized_dice_by_hand_with_absent_class_weight():
    z, y = logits_from_probs(P3), tgt(Y3)
    w = [1 / 4, 1.0, 1.0]  # 1/G^2; class 2 absent -> the largest finite weight (1.0)
    num = 2 * sum(w[c] * TP[c] for c in range(3))
    den = sum(w[c] * (PP[c] + GG[c]) for c in range(3))
    assert GeneralizedDiceLoss(IGN, smooth=0)(z, y).item() == pytest.approx(1 - num / den)
    w_s = [1 / 2, 1.0, 1.0]
    num = 2 * sum(w_s[c] * TP[c] for c in range(3))
    den = sum(w_s[c] * (PP[c] + GG[c]) for c in range(3))
    simple = GeneralizedDiceLoss(IGN, smooth=0, w_type="simple")
    assert simple(z, y).item() == pytest.approx(1 - num / den)


def test_lovasz_by_hand():
    # p0 = (0.8, 0.3) for pixels with labels (0, 1): Jaccard-gradient worked out in the docstring
    # of docs/methods/losses.md §10: class 0 -> errors sorted (0.3 [bg], 0.2 [fg]), Delta (0.5, 0.5)
    # -> 0.25; class 1 -> errors (0.3 [fg], 0.2 [bg]), Delta (1, 0) -> 0.3; mean 0.275.
    z = logits_from_probs([[0.8, 0.2], [0.3, 0.7]])
    y = tgt([0, 1])
    assert LovaszSoftmaxLoss(IGN)(z, y).item() == pytest.approx(0.275)
    # "all" with an absent third class adds its own term; present-only ignores it
    z3 = logits_from_probs([[0.8, 0.2, 0.0], [0.3, 0.7, 0.0]])
    assert LovaszSoftmaxLoss(IGN)(z3, y).item() == pytest.approx(0.275, abs=1e-9)
    # class 2 absent with p = 0 everywhere: errors 0 -> term 0 -> mean over 3 classes
    assert LovaszSoftmaxLoss(IGN, classes="all")(z3, y).item() == pytest.approx(0.55 / 3)


def test_boundary_and_hausdorff_by_hand():
    # 1 x 3 image, labels (0, 0, 1): phi_0 = (-1, 0, 1), phi_1 = (2, 1, 0)
    z = logits_from_probs([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7]])
    y = tgt([0, 0, 1])
    phi = torch.from_numpy(signed_distance_maps(y[0].numpy(), 2)).to(DT)[None]
    expected = (-1 * 0.9 + 0 * 0.6 + 1 * 0.3 + 2 * 0.1 + 1 * 0.4 + 0 * 0.7) / (2 * 3)
    assert BoundaryLoss(IGN)(z, y, signed_dist=phi).item() == pytest.approx(expected)
    # HD: d_G = |phi| + g = (2, 1, 1) for both classes; prediction p0 > .5 at (1, 1, 0), so
    # d_S = (2, 1, 1) too; (p - g)^2 = (.01, .16, .09) for both classes
    hd = HausdorffDTLoss(IGN, alpha=2.0)(z, y, signed_dist=phi).item()
    assert hd == pytest.approx(2 * (0.01 * 8 + 0.16 * 2 + 0.09 * 2) / 6)


def test_gdl_boundary_schedule_moves_weight_to_the_boundary_term():
    from detectron2.utils.events import EventStorage

    z = logits_from_probs([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7]])
    y = tgt([0, 0, 1])
    phi = torch.from_numpy(signed_distance_maps(y[0].numpy(), 2)).to(DT)[None]
    loss = GDLBoundaryLoss(IGN, alpha0=0.01, alpha_step=0.01, step_iters=10, min_gdl_weight=0.1)
    # weights by hand: 0.01 before iteration 10, 0.02 from 10, capped at 1 - 0.1
    assert [loss.boundary_weight(t) for t in (0, 9, 10, 25)] == pytest.approx(
        [0.01, 0.01, 0.02, 0.03]
    )
    assert loss.boundary_weight(10**6) == pytest.approx(0.9)
    gdl = GeneralizedDiceLoss(IGN)(z, y)
    bl = BoundaryLoss(IGN)(z, y, signed_dist=phi)
    torch.testing.assert_close(loss(z, y, signed_dist=phi), 0.99 * gdl + 0.01 * bl)  # no storage
    with EventStorage(start_iter=25):
        torch.testing.assert_close(loss(z, y, signed_dist=phi), 0.97 * gdl + 0.03 * bl)


def test_compositions_ce_dice_combo_exp_log():
    z, y = logits_from_probs(P3), tgt(Y3)
    ce = F.cross_entropy(z, y).item()
    dice = DiceLoss(IGN)(z, y).item()
    assert CEDiceLoss(IGN, 0.5, 2.0)(z, y).item() == pytest.approx(0.5 * ce + 2.0 * dice)
    # Combo, alpha 0.5, beta 0.7, smooth 1, present classes 0 and 1 (3 valid pixels)
    per_class = []
    for c in range(2):
        bce = 0.0
        for r, t in zip(P3, Y3):
            g = 1.0 if t == c else 0.0
            bce -= 0.7 * g * math.log(r[c]) + 0.3 * (1 - g) * math.log(1 - r[c])
        d = (2 * TP[c] + 1) / (PP[c] + GG[c] + 1)
        per_class.append(0.5 * bce / 3 - 0.5 * d)
    assert ComboLoss(IGN, 0.5, 0.7)(z, y).item() == pytest.approx(sum(per_class) / 2)
    # exp-log: with gammas 1 and w_cross 0 it is mean(-ln Dice_c)
    d1 = [(2 * TP[c] + 1) / (PP[c] + GG[c] + 1) for c in range(2)]
    el = ExpLogLoss(IGN, w_dice=1.0, w_cross=0.0, gamma_dice=1.0, gamma_cross=1.0)
    assert el(z, y).item() == pytest.approx(-sum(math.log(d) for d in d1) / 2)
    # paper form with the defaults: 0.8 E_c[(-ln Dice)^0.3] + 0.2 E_i[(-ln q)^0.3]
    q = [0.7, 0.5, 0.6]
    expected = (
        0.8 * sum((-math.log(d)) ** 0.3 for d in d1) / 2
        + 0.2 * sum((-math.log(v)) ** 0.3 for v in q) / 3
    )
    assert ExpLogLoss(IGN)(z, y).item() == pytest.approx(expected)
    sld = 0.8 * (-math.log(sum(d1) / 2)) ** 0.3 + 0.2 * ce
    assert ExpLogLoss(IGN, form="seglossodyssey")(z, y).item() == pytest.approx(sld)


# ---------------------------------------------------------------- properties of every loss


def _case(seed=0, n=2, k=4, h=6, w=7):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, k, h, w, generator=g, dtype=DT)
    y = torch.randint(0, k - 1, (n, h, w), generator=g)  # class k-1 absent
    y[0, :2] = IGN
    y[1, :, :1] = IGN
    return z, y


def _build(name):
    options = {"min_kept": 10} if name == "ohem_cross_entropy" else {}
    spec = [{"name": name, "weight": 1.0, "options": options}]
    return build_sem_seg_loss(spec, IGN).terms[0][2]


def _value(loss, z, y):
    return loss(z, y, **extra_inputs(loss, y, z.shape[1]))


@pytest.mark.parametrize("name", registered_losses())
def test_loss_properties(name):
    loss = _build(name)
    z, y = _case()
    z.requires_grad_(True)
    value = _value(loss, z, y)
    assert value.dim() == 0 and torch.isfinite(value)
    value.backward()
    assert torch.isfinite(z.grad).all()
    # ignored pixels change nothing: new logits there give the same loss and no gradient there
    z2 = z.detach().clone()
    z2[y.unsqueeze(1).expand_as(z2) == IGN] = 7.0
    torch.testing.assert_close(_value(loss, z2, y), value.detach())
    assert (z.grad.abs().sum(1)[y == IGN] == 0).all()
    # a perfect prediction (large one-hot margin) gives the minimum
    onehot = F.one_hot(torch.where(y == IGN, 0, y), z.shape[1]).permute(0, 3, 1, 2).to(DT)
    perfect = _value(loss, 30 * onehot, y)
    for seed in range(3):
        zr, _ = _case(seed + 10)
        assert perfect <= _value(loss, zr, y) + 1e-9
        assert perfect <= _value(loss, 30 * onehot + zr, y) + 1e-9
    # all-ignore batch: 0, finite gradients
    z3 = z.detach().clone().requires_grad_(True)
    y_all = torch.full_like(y, IGN)
    zero = _value(loss, z3, y_all)
    assert zero.item() == 0.0
    zero.backward()
    assert z3.grad is not None and torch.isfinite(z3.grad).all()
    # one image entirely ignored inside a batch with valid pixels: finite value and gradients,
    # nothing flows into the ignored image, and changing its logits changes nothing
    y_mixed = y.clone()
    y_mixed[1] = IGN
    z4 = z.detach().clone().requires_grad_(True)
    mixed = _value(loss, z4, y_mixed)
    assert torch.isfinite(mixed) and mixed.item() > 0
    mixed.backward()
    assert torch.isfinite(z4.grad).all() and (z4.grad[1] == 0).all()
    z5 = z.detach().clone()
    z5[1] = -3.0
    torch.testing.assert_close(_value(loss, z5, y_mixed), mixed.detach())


def test_weighted_sum_has_one_key_per_term_and_pixel_form_only_if_all_terms_have_one():
    spec = [
        {"name": "cross_entropy", "weight": 1.0},
        {"name": "focal", "weight": 0.5, "options": {"gamma": 1.0}},
    ]
    loss = build_sem_seg_loss(spec, IGN)
    z, y = _case()
    out = loss(z, y)
    assert set(out) == {"cross_entropy", "focal"}
    torch.testing.assert_close(out["focal"], 0.5 * SoftmaxFocalLoss(IGN, 1.0)(z, y))
    pix = loss.pixel_loss(z, y)
    expected = PixelCrossEntropy(IGN).pixel_loss(z, y) + 0.5 * SoftmaxFocalLoss(
        IGN, 1.0
    ).pixel_loss(z, y)
    torch.testing.assert_close(pix, expected)
    with_dice = build_sem_seg_loss(spec + [{"name": "dice"}], IGN)
    assert isinstance(with_dice, WeightedSumLoss)
    with pytest.raises(TypeError, match=r"\['dice'\] have no per-pixel form"):
        with_dice.pixel_loss(z, y)


def test_pixel_forms_sum_to_the_loss():
    z, y = _case()
    for name in [
        "cross_entropy",
        "focal",
        "dist_penalty_cross_entropy",
        "boundary",
        "hausdorff_dt",
    ]:
        loss = _build(name)
        extra = extra_inputs(loss, y, z.shape[1])
        pix = loss.pixel_loss(z, y, **extra)
        assert pix.shape == y.shape and (pix[y == IGN] == 0).all()
        torch.testing.assert_close(pix.sum() / (y != IGN).sum(), loss(z, y, **extra))


# ---------------------------------------------------------------- config


def test_loss_options_are_derived_from_the_loss_signatures():
    class Toy:
        def __init__(self, ignore_value=255, weights=None, sizes=(1, 2), gamma=2.0, mode="a"):
            pass

    node = loss_options_node(Toy, "toy")
    assert dict(node) == {"WEIGHTS": [], "SIZES": [1, 2], "GAMMA": 2.0, "MODE": "a"}

    def no_default(ignore_value, alpha):
        pass

    with pytest.raises(ValueError, match="'toy'.*'alpha'.*no default"):
        loss_options_node(no_default, "toy")
    # every registered loss gets its node from its class (or builder function)
    cfg = get_cfg()
    add_hardseg_config(cfg)
    assert set(cfg.MODEL.SEM_SEG_LOSS) == {n.upper() for n in registered_losses()}
    for name in registered_losses():
        entry = SEM_SEG_LOSS_REGISTRY.get(name)
        derived = loss_options_node(entry.loss_class or entry, name)
        assert cfg.MODEL.SEM_SEG_LOSS[name.upper()] == derived, name
    # user-visible values (from the classes): spot checks
    L = cfg.MODEL.SEM_SEG_LOSS
    assert (L.OHEM_CROSS_ENTROPY.THRESH, L.OHEM_CROSS_ENTROPY.MIN_KEPT) == (0.7, 100000)
    assert (L.CROSS_ENTROPY.CLASS_WEIGHTS, L.HARD_PIXEL_MINING.TOP_K_PERCENT_PIXELS) == ([], 0.2)
    assert (L.FOCAL_TVERSKY.EXPONENT, L.EXP_LOG.FORM, L.BOUNDARY) == (0.75, "paper", {})


def test_spec_from_config_and_errors():
    cfg = get_cfg()
    add_hardseg_config(cfg)
    assert loss_spec_from_config(cfg) == [
        {"name": "hard_pixel_mining", "weight": 1.0, "options": {"top_k_percent_pixels": 0.2}}
    ]
    cfg.MODEL.SEM_SEG_HEAD.LOSSES = ["cross_entropy", "dice"]
    cfg.MODEL.SEM_SEG_HEAD.LOSS_WEIGHTS = [1.0, 0.5]
    cfg.MODEL.SEM_SEG_LOSS.CROSS_ENTROPY.CLASS_WEIGHTS = [1.0, 2.0]
    spec = loss_spec_from_config(cfg)
    assert spec[0]["options"]["class_weights"] == [1.0, 2.0]
    assert spec[1] == {
        "name": "dice",
        "weight": 0.5,
        "options": {
            "smooth": 1e-5,
            "batch": False,
            "class_avg": "present",
            "squared": False,
            "log_loss": False,
        },
    }
    cfg.MODEL.SEM_SEG_HEAD.LOSS_WEIGHTS = [1.0]
    with pytest.raises(ValueError, match="LOSS_WEIGHTS has 1 entries for 2 LOSSES"):
        loss_spec_from_config(cfg)
    cfg.MODEL.SEM_SEG_HEAD.LOSSES = ["dice", "lovasz"]
    cfg.MODEL.SEM_SEG_HEAD.LOSS_WEIGHTS = []
    with pytest.raises(ValueError, match=r"'lovasz' is not a registered loss.*'lovasz_softmax'"):
        loss_spec_from_config(cfg)
    with pytest.raises(ValueError, match="bad options .* 'focal'"):
        build_sem_seg_loss([{"name": "focal", "options": {"gama": 2}}], IGN)
    with pytest.raises(ValueError, match="class_avg='some'"):
        DiceLoss(IGN, class_avg="some")
