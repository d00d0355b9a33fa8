"""Fixed hardness maps on the Mask2Former-style model (docs/methods/hl.md §8.6,
docs/methods/mask2former.md §4): the maps from the mapper take the online HL logits' place in the
criterion (read at the same points, w = (m + eps) / sum(m + eps)), with no HL branch and no
loss_hardness; the mask-former mapper pads them and skips the colour augmentation."""

import numpy as np
import pytest
import torch
from PIL import Image
from torch.nn import functional as F

from detectron2.data import transforms as T
from detectron2.modeling import build_model
from detectron2.projects.point_rend import ColorAugSSDTransform
from detectron2.utils.events import EventStorage

from hardseg.data.mappers import MaskFormerSemanticDatasetMapper
from tests.common import random_batch, tiny_cfg, write_label_png
from tests.modeling.test_mask_former_hl import _small_case
from tests.tools.test_export_hardness_maps import HL_CONFIG, _tool

INSTANT = "quick_schedules/maskformer2_R18_instant_test.yaml"
FIXED = ("MODEL.HARDNESS.SOURCE", "fixed", "INPUT.HARDNESS_MAP_DIR", "maps")
EPS, MASK_WEIGHT, DICE_WEIGHT = 0.1, 5.0, 5.0


def test_weighted_mask_losses_by_hand():
    """A hand-made map (1 on the left half, 0 elsewhere) at twice the mask-logit resolution,
    read at the 8x8 pixel centres the test criterion samples (each centre falls between two
    equal map pixels, so the bilinear read is exact)."""
    crit, outputs, targets, _ = _small_case(seed=2)
    block = torch.zeros(8, 8)
    block[:, :4] = 1.0
    maps = block.repeat_interleave(2, 0).repeat_interleave(2, 1)[None, None]  # (1, 1, 16, 16)
    torch.manual_seed(0)
    losses = crit(outputs, targets, hardness_maps=maps)
    assert set(losses) == {"loss_ce", "loss_mask", "loss_dice"}  # no loss_hardness

    # independently: the matched pairs (same seed), the points (pixel m*P + j of the 8x8 maps)
    torch.manual_seed(0)
    ((src, tgt),) = crit.matcher(outputs, targets)
    p = crit.num_points
    idx = torch.arange(len(src) * p).view(len(src), p)
    x = outputs["pred_masks"][0, src].detach().flatten(1).gather(1, idx)
    t = targets[0]["masks"][tgt].flatten(1).float().gather(1, idx)
    m = (idx % 8 < 4).float()  # the map at those pixels: column < 4
    h = m + EPS
    w = h / h.sum()
    bce = F.softplus(x) - x * t
    num_masks = 2  # one process: M = num_masks, so the factor M / num_masks is 1
    assert losses["loss_mask"].item() == pytest.approx(MASK_WEIGHT * (w * bce).sum().item(), 1e-5)
    a = w * w.numel()  # point weights of mean 1
    sig = torch.sigmoid(x)
    dice = 1 - (2 * (a * sig * t).sum(1) + 1) / ((a * sig).sum(1) + (a * t).sum(1) + 1)
    expected_dice = DICE_WEIGHT * dice.sum().item() / num_masks
    assert losses["loss_dice"].item() == pytest.approx(expected_dice, rel=1e-5)
    # the left half weighs (1 + eps) / eps = 11 times a right-half point
    assert w[m == 1].max() / w[m == 0].min() == pytest.approx(11.0, rel=1e-5)
    with pytest.raises(ValueError, match="not both"):
        crit(outputs, targets, torch.zeros(1, 1, 8, 8), hardness_maps=maps)


def _model(*opts, seed=0):
    torch.manual_seed(seed)
    return build_model(tiny_cfg(*opts, config=INSTANT))


def test_fixed_source_builds_no_hl_parameters_and_uniform_maps_give_plain_losses():
    fixed, plain = _model(*FIXED), _model()
    assert fixed.hardness_branch is None and fixed.fixed_hardness
    assert [n for n, _ in fixed.named_parameters()] == [n for n, _ in plain.named_parameters()]
    online = _model("MODEL.HARDNESS.ENABLED", True)
    assert any(n.startswith("hardness_branch.") for n, _ in online.named_parameters())
    # zero maps -> uniform weights eps / S -> exactly Mask2Former's losses (a non-zero constant
    # map would not do: point_sample reads zeros beyond the border, as for the labels)
    fixed.load_state_dict(plain.state_dict())
    batch = random_batch(n=2, h=64, w=64)
    for x in batch:
        x["hardness"] = torch.zeros((64, 64), dtype=torch.float16)
    fixed.train()
    plain.train()
    with EventStorage():
        torch.manual_seed(5)
        got = fixed(batch)
        torch.manual_seed(5)
        expected = plain(batch)
    assert set(got) == set(expected) and "loss_hardness" not in got
    for k, v in expected.items():
        assert got[k].item() == pytest.approx(v.item(), rel=1e-4), k


def test_config_errors_are_named():
    with pytest.raises(ValueError, match="MODEL.HARDNESS.ENABLED False"):
        _model(*FIXED, "MODEL.HARDNESS.ENABLED", True)
    with pytest.raises(ValueError, match="INPUT.HARDNESS_MAP_DIR"):
        _model("MODEL.HARDNESS.SOURCE", "fixed")
    model = _model(*FIXED)
    model.train()
    with EventStorage(), pytest.raises(ValueError, match="INPUT.HARDNESS_MAP_DIR"):
        model(random_batch(n=2, h=64, w=64))  # inputs without maps


def _write_sample(tmp_path, name, h, w, seed):
    rng = np.random.default_rng(seed)
    image = tmp_path / f"{name}.png"
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(image)
    label = tmp_path / f"{name}_label.png"
    write_label_png(label, rng.integers(0, 7, (h, w)))
    return {"file_name": str(image), "sem_seg_file_name": str(label), "height": h, "width": w}


def test_mapper_pads_the_map_with_zero_and_skips_the_colour_augmentation(tmp_path):
    d = _write_sample(tmp_path, "a", 40, 56, 0)
    (tmp_path / "maps").mkdir()
    stored = np.random.default_rng(1).random((40, 56)).astype(np.float16)
    np.save(tmp_path / "maps" / "a.npy", stored)
    mapper = MaskFormerSemanticDatasetMapper(
        is_train=True,
        augmentations=[ColorAugSSDTransform(img_format="RGB"), T.RandomFlip(prob=1.0)],
        image_format="RGB",
        num_classes=7,
        size_divisibility=32,
        hardness_map_dir=str(tmp_path / "maps"),
    )
    out = mapper(dict(d))
    assert out["image"].shape[-2:] == out["hardness"].shape == (64, 64)
    assert torch.equal(out["hardness"][:40, :56], torch.from_numpy(stored[:, ::-1].copy()))
    assert out["hardness"][40:].abs().max() == 0 and out["hardness"][:, 56:].abs().max() == 0


def test_trains_a_step_from_exported_maps_and_names_a_missing_file(tmp_path):
    dicts = [_write_sample(tmp_path, f"img_{i}", 48, 60, i) for i in range(2)]
    torch.manual_seed(0)
    hl_model = build_model(tiny_cfg(config=HL_CONFIG))
    _tool().export_hardness_maps(hl_model, dicts, "RGB", tmp_path / "maps")
    cfg = tiny_cfg(
        "MODEL.HARDNESS.SOURCE", "fixed",
        "INPUT.HARDNESS_MAP_DIR", str(tmp_path / "maps"),
        "INPUT.COLOR_AUG_SSD", True,
        config=INSTANT,
    )  # fmt: skip
    mapper = MaskFormerSemanticDatasetMapper(cfg, is_train=True)
    batch = [mapper(dict(d)) for d in dicts]
    for x in batch:
        assert x["hardness"].shape == x["image"].shape[-2:]
        assert 0 <= float(x["hardness"].min()) and float(x["hardness"].max()) <= 1
    torch.manual_seed(0)
    model = build_model(cfg)
    model.train()
    with EventStorage():
        losses = model(batch)
    assert "loss_hardness" not in losses and {"loss_mask", "loss_dice"} <= set(losses)
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    assert model.sem_seg_head.predictor.mask_embed.layers[-1].weight.grad.abs().sum() > 0
    (tmp_path / "maps" / "img_1.npy").unlink()
    with pytest.raises(ValueError, match=r"INPUT.HARDNESS_MAP_DIR=.*img_1\.npy"):
        mapper(dict(dicts[1]))
