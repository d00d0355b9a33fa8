"""The OpenCV distance maps and their compact storage (hardseg/data/targets/distance.py) against
the previous SciPy float64 maps (hardseg/data/targets/distance_reference.py), and the losses fed
from the stored maps against the losses fed from the SciPy maps.

Stated tolerances (README, "Training-mapper cost"):
- signed maps: exact transform, within 1e-4 px of SciPy (float32 rounding; distances < 200 px);
  stored in int16 steps of 1/8 px, so within 1/16 px after decoding (float32 beyond 4095 px);
- DPCE penalty: 5x5 chamfer transform, within 0.04 of SciPy's map (chamfer distances are within
  2 % of Euclidean ones), stored in uint8 steps of 1/255 (1/510 more); exact=True: 1e-4.
"""

import numpy as np
import pytest
import torch

from hardseg.data.targets import (
    SIGNED_DIST_STEP,
    ClassMaps,
    DistanceMapTargets,
    decode_loss_map,
    dist_penalty_map,
    packed_signed_distances,
    signed_distance_maps,
)
from hardseg.data.targets.distance import edt
from hardseg.data.targets.distance_reference import (
    scipy_dist_penalty_map,
    scipy_signed_distance_maps,
)
from hardseg.modeling.losses import BoundaryLoss, DistancePenalizedCrossEntropy, HausdorffDTLoss
from hardseg.modeling.preprocess import batch_loss_inputs
from hardseg.utils.synthetic import blocky_label

EXACT_TOL = 1e-4  # px, exact transforms (float32 vs float64) on maps of a few hundred pixels
STORED_TOL = SIGNED_DIST_STEP / 2 + EXACT_TOL  # int16 steps of 1/8 px, rounded
CHAMFER_TOL = 0.04  # DPCE penalty from the 5x5 chamfer transform
PENALTY_TOL = CHAMFER_TOL + 1 / 510  # ... stored in uint8 steps of 1/255
K = 6


def _discs_and_boxes(seed, shape=(97, 131)):
    """Random rectangles and discs of classes 1-4 and ignore on class 0 (class 5 absent)."""
    rng = np.random.default_rng(seed)
    lab = np.zeros(shape, np.uint8)
    for _ in range(6):
        c = rng.choice([1, 2, 3, 4, 255])
        y, x = rng.integers(0, shape[0]), rng.integers(0, shape[1])
        if rng.random() < 0.5:
            lab[y : y + rng.integers(3, 40), x : x + rng.integers(3, 50)] = c
        else:
            yy, xx = np.ogrid[: shape[0], : shape[1]]
            lab[(yy - y) ** 2 + (xx - x) ** 2 < rng.integers(4, 400)] = c
    return lab


def _special():
    """Classes touching the border, a single-pixel class, class 5 absent, ignore pixels."""
    lab = np.zeros((40, 57), np.uint8)
    lab[:, :9] = 1  # the left border, top to bottom
    lab[30:, 40:] = 2  # the bottom-right corner
    lab[17, 25] = 3  # a single pixel
    lab[0, 30:50] = 4  # a one-pixel strip on the top border
    lab[10:20, 45:52] = 255
    return lab


LABELS = {
    **{f"discs{s}": _discs_and_boxes(s) for s in range(3)},
    **{f"blocks{s}": blocky_label(96, 160, K - 1, num_blocks=12, seed=s) for s in range(2)},
    "special": _special(),
    "int64": _special().astype(np.int64),  # a label tensor's dtype
}


@pytest.mark.parametrize("name", sorted(LABELS))
def test_maps_equal_scipy_within_the_stated_tolerances(name):
    lab = LABELS[name]
    ref_phi = scipy_signed_distance_maps(lab, K)
    np.testing.assert_allclose(signed_distance_maps(lab, K), ref_phi, atol=EXACT_TOL)
    ref_d = scipy_dist_penalty_map(lab)
    np.testing.assert_allclose(dist_penalty_map(lab, exact=True), ref_d, atol=EXACT_TOL)
    np.testing.assert_allclose(dist_penalty_map(lab), ref_d, atol=CHAMFER_TOL)
    # what the mapper stores, expanded as the meta-architectures do
    out = DistanceMapTargets(("dist_penalty", "signed_dist"), K)(lab)
    assert out["dist_penalty"].dtype == torch.uint8
    np.testing.assert_allclose(decode_loss_map(out["dist_penalty"]), ref_d, atol=PENALTY_TOL)
    packed = out["signed_dist"]
    present = [c for c in range(K) if (lab == c).any()]
    assert packed.classes.tolist() == present and packed.maps.dtype == torch.int16
    np.testing.assert_allclose(decode_loss_map(packed), ref_phi, atol=STORED_TOL)


def test_special_cases_by_hand():
    lab = _special()
    phi = signed_distance_maps(lab, K)
    assert not phi[5].any()  # absent class
    assert phi[3, 17, 25] == 0 and phi[3, 17, 28] == pytest.approx(3)  # single pixel, 3 px away
    assert phi[3, 20, 29] == pytest.approx(5)  # (3, 4) away
    assert phi[1, 5, 0] == pytest.approx(-8)  # column 9 is the nearest outside pixel: 1 - 9
    assert phi[4, 0, 40] == 0 and phi[4, 3, 40] == pytest.approx(3)
    # all ignore: no class, no boundary
    ignore = np.full((8, 9), 255, np.uint8)
    assert not signed_distance_maps(ignore, K).any() and not dist_penalty_map(ignore).any()
    packed = packed_signed_distances(ignore, K)
    assert packed.maps.shape == (0, 8, 9) and decode_loss_map(packed).shape == (K, 8, 9)
    assert not decode_loss_map(packed).any()
    # a class filling the map has phi = 0 and is not stored
    full = np.full((5, 6), 2, np.uint8)
    assert packed_signed_distances(full, K).classes.numel() == 0
    assert not signed_distance_maps(full, K).any()


def test_far_distances_keep_their_precision():
    # float16 (the previous storage) has steps of 2 px beyond 2048 px: 3001 px was stored as 3000
    lab = np.zeros((3, 3100), np.uint8)
    lab[:, 0] = 1
    ref = scipy_signed_distance_maps(lab, 2)
    assert ref[1, 1, 3001] == 3001 and float(np.float16(3001)) == 3000  # the old error
    stored = packed_signed_distances(lab, 2)
    assert stored.maps.dtype == torch.int16
    np.testing.assert_allclose(decode_loss_map(stored), ref, atol=STORED_TOL)
    # maps whose distances do not fit int16 steps of 1/8 px are stored in float32
    wide = np.zeros((1, 4200), np.uint8)
    wide[0, :3] = 1
    stored = packed_signed_distances(wide, 2)
    assert stored.maps.dtype == torch.float32
    np.testing.assert_allclose(
        decode_loss_map(stored), scipy_signed_distance_maps(wide, 2), atol=EXACT_TOL * 50
    )


def test_storage_size():
    lab = blocky_label(64, 128, 5, num_blocks=8, seed=3)
    out = DistanceMapTargets(("dist_penalty", "signed_dist"), 19)(lab)
    assert out["dist_penalty"].numel() * out["dist_penalty"].element_size() == 64 * 128
    p = len(np.intersect1d(np.unique(lab), np.arange(19)))
    maps = out["signed_dist"].maps
    assert isinstance(out["signed_dist"], ClassMaps) and 0 < p < 19
    assert maps.numel() * maps.element_size() == p * 64 * 128 * 2


def test_losses_from_the_stored_maps_equal_the_scipy_ones():
    labels = [LABELS["blocks0"], LABELS["discs1"][:96, :131]]
    h, w = 96, 160
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, K, h, w, generator=g)
    targets = torch.full((2, h, w), 255, dtype=torch.long)
    for i, lab in enumerate(labels):
        targets[i, : lab.shape[0], : lab.shape[1]] = torch.from_numpy(lab.astype(np.int64))
    # the mapper's maps of each (unpadded) label, padded and expanded by the meta-architecture
    gen = DistanceMapTargets(("dist_penalty", "signed_dist"), K)
    batch = [gen(lab) for lab in labels]
    stored = batch_loss_inputs(batch, ("dist_penalty", "signed_dist"), (h, w), "cpu")
    ref = {"dist_penalty": torch.zeros(2, h, w), "signed_dist": torch.zeros(2, K, h, w)}
    for i, lab in enumerate(labels):
        ref["dist_penalty"][i, : lab.shape[0], : lab.shape[1]] = torch.from_numpy(
            scipy_dist_penalty_map(lab)
        )
        ref["signed_dist"][i, :, : lab.shape[0], : lab.shape[1]] = torch.from_numpy(
            scipy_signed_distance_maps(lab, K)
        )
    # boundary: |dL| <= max |d phi| / K (L averages sum_c phi_c p_c / K, sum_c p_c = 1)
    bl = BoundaryLoss()
    diff = bl(logits, targets, stored["signed_dist"]) - bl(logits, targets, ref["signed_dist"])
    assert 0 < abs(diff.item()) <= STORED_TOL / K
    # Hausdorff: d_G >= 1 where it is not 0, so d_G^2 moves by at most (2 e + e^2) relative
    hd = HausdorffDTLoss()
    a, b = hd(logits, targets, stored["signed_dist"]), hd(logits, targets, ref["signed_dist"])
    assert a.item() == pytest.approx(b.item(), rel=2 * STORED_TOL + STORED_TOL**2)
    # DPCE: the weight 1 + D moves by at most PENALTY_TOL, so |dL| <= PENALTY_TOL * CE
    dpce = DistancePenalizedCrossEntropy()
    ce = dpce(logits, targets, torch.zeros(2, h, w))
    diff = dpce(logits, targets, stored["dist_penalty"]) - dpce(
        logits, targets, ref["dist_penalty"]
    )
    assert 0 < abs(diff.item()) <= PENALTY_TOL * ce.item()


def test_edt_known_values():
    m = np.ones((5, 7), bool)
    m[0, 0] = False
    np.testing.assert_allclose(edt(m)[4, 6], np.hypot(4, 6), rtol=1e-6)
    np.testing.assert_allclose(edt(m)[3, 4], 5.0, rtol=1e-6)
    assert edt(m)[0, 0] == 0
    # the chamfer transform is within 2 % of these
    np.testing.assert_allclose(edt(m, exact=False)[4, 6], np.hypot(4, 6), rtol=0.02)


def test_config_key_selects_the_exact_dpce_map():
    """INPUT.DIST_PENALTY_EXACT reaches the mapper's target generator: True stores the exact map
    (within EXACT_TOL + the uint8 step of SciPy's), False the chamfer one."""
    from detectron2.config import get_cfg

    from hardseg.config import add_hardseg_config

    lab = LABELS["discs1"]
    ref = scipy_dist_penalty_map(lab)
    cfg = get_cfg()
    add_hardseg_config(cfg)
    cfg.MODEL.SEM_SEG_HEAD.LOSS_TYPE = "dist_penalty_cross_entropy"
    cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES = K
    stored = {}
    for exact in (False, True):
        cfg.INPUT.DIST_PENALTY_EXACT = exact
        gen = DistanceMapTargets.from_config(cfg)
        assert gen.keys == ("dist_penalty",) and gen.exact_dist_penalty is exact
        stored[exact] = gen(lab)["dist_penalty"].numpy().astype(np.float64) / 255.0
    np.testing.assert_allclose(stored[True], ref, atol=EXACT_TOL + 1 / 510 + 1e-6)
    # the chamfer map is a different (approximate) map on this label, within its tolerance
    assert np.abs(stored[False] - ref).max() > 1 / 255
    np.testing.assert_allclose(stored[False], ref, atol=0.04 + 1 / 510)
