"""Fixed hardness maps (docs/methods/hl.md §8.6): tools/export_hardness_maps.py writes an HL
model's sigmoid(z) per image; the mapper transforms a map like its image; a plain model trained
with MODEL.HARDNESS.SOURCE "fixed" weights its loss by (map + eps) / sum(map + eps)."""

import importlib.util
import math

import numpy as np
import pytest
import torch
from PIL import Image
from torch.nn import functional as F

from detectron2.data import transforms as T
from detectron2.modeling import build_model
from detectron2.projects.point_rend import ColorAugSSDTransform
from detectron2.utils.events import EventStorage

from hardseg.data import SemanticDatasetMapper
from tests.common import REPO, random_batch, tiny_cfg, write_label_png

HL_CONFIG = "quick_schedules/deeplabv3plus_R18_hl_instant_test.yaml"
EPS = 0.1


def _tool():
    spec = importlib.util.spec_from_file_location(
        "export_hardness_maps", REPO / "tools/export_hardness_maps.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_image(path, h, w, seed):
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)


def test_export_writes_the_hl_branch_sigmoid_per_image(tmp_path):
    torch.manual_seed(0)
    model = build_model(tiny_cfg(config=HL_CONFIG))
    dicts = []
    for i, (h, w) in enumerate([(40, 56), (64, 48)]):
        path = tmp_path / f"img_{i}.png"
        _write_image(path, h, w, i)
        dicts.append({"file_name": str(path), "height": h, "width": w})
    paths = _tool().export_hardness_maps(model, dicts, "RGB", tmp_path / "maps")
    assert [p.rsplit("/", 1)[-1] for p in paths] == ["img_0.npy", "img_1.npy"]
    head = model.sem_seg_head
    for d, path in zip(dicts, paths):
        exported = np.load(path)
        assert exported.dtype == np.float16 and exported.shape == (d["height"], d["width"])
        # by hand: normalise, zero-pad to a multiple of 8, HL branch, bilinear to the padded size,
        # sigmoid, crop
        image = torch.from_numpy(np.array(Image.open(d["file_name"]))).permute(2, 0, 1).float()
        x = (image - model.pixel_mean.view(3, 1, 1)) / model.pixel_std.view(3, 1, 1)
        ph, pw = (math.ceil(s / 8) * 8 for s in x.shape[-2:])
        x = F.pad(x, (0, pw - x.shape[-1], 0, ph - x.shape[-2]))[None]
        with torch.no_grad():
            z = head.hl.layers(model.backbone(x))
        z = F.interpolate(z, size=(ph, pw), mode="bilinear", align_corners=False)
        expected = torch.sigmoid(z)[0, 0, : d["height"], : d["width"]].numpy()
        np.testing.assert_allclose(exported.astype(np.float32), expected, atol=1e-3)
    with pytest.raises(ValueError, match="share the file stem"):
        _tool().export_hardness_maps(model, dicts + dicts[:1], "RGB", tmp_path / "maps2")


def _mapper(map_dir, augs):
    return SemanticDatasetMapper(
        is_train=True, augmentations=augs, image_format="RGB", num_classes=10,
        hardness_map_dir=str(map_dir),
    )  # fmt: skip


def test_mapper_transforms_the_map_like_the_label(tmp_path):
    rng = np.random.default_rng(0)
    label = rng.integers(0, 10, (48, 64)).astype(np.uint8)
    _write_image(tmp_path / "a_leftImg8bit.png", 48, 64, 0)
    write_label_png(tmp_path / "a_label.png", label)
    (tmp_path / "maps").mkdir()
    np.save(tmp_path / "maps" / "a_leftImg8bit.npy", (label / 10.0).astype(np.float16))
    d = {
        "file_name": str(tmp_path / "a_leftImg8bit.png"),
        "sem_seg_file_name": str(tmp_path / "a_label.png"),
        "height": 48,
        "width": 64,
    }
    augs = [T.RandomCrop("absolute", (32, 40)), T.RandomFlip(prob=1.0)]
    out = _mapper(tmp_path / "maps", augs)(d)
    assert out["hardness"].dtype == torch.float16 and out["hardness"].shape == (32, 40)
    assert torch.equal((out["hardness"].float() * 10).round().long(), out["sem_seg"])
    # the photometric distortion (INPUT.COLOR_AUG_SSD) changes the image only, never the map
    augs.insert(1, ColorAugSSDTransform(img_format="RGB"))
    out = _mapper(tmp_path / "maps", augs)(d)
    assert torch.equal((out["hardness"].float() * 10).round().long(), out["sem_seg"])
    # a bilinear resize keeps the size in step with the image
    out = _mapper(tmp_path / "maps", [T.Resize((24, 32))])(d)
    assert out["hardness"].shape == out["image"].shape[-2:] == (24, 32)
    with pytest.raises(ValueError, match="export_hardness_maps"):
        _mapper(tmp_path, [])(d)


def test_fixed_maps_weight_the_plain_loss():
    cfg = tiny_cfg("MODEL.HARDNESS.SOURCE", "fixed", "INPUT.HARDNESS_MAP_DIR", "maps")
    torch.manual_seed(0)
    model = build_model(cfg)
    k = cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES
    torch.nn.init.zeros_(model.sem_seg_head.predictor.weight)  # CE = log K at labelled pixels
    torch.nn.init.zeros_(model.sem_seg_head.predictor.bias)
    batch = random_batch(n=2, h=32, w=32)  # rows 0-3 ignored
    g = torch.Generator().manual_seed(1)
    for x in batch:
        x["hardness"] = torch.rand(32, 32, generator=g).half()
    model.train()
    with EventStorage():
        losses = model(batch)
    assert set(losses) == {"loss_sem_seg"}  # no HL branch, no loss_hardness
    h = torch.stack([x["hardness"].float() for x in batch]) + EPS
    expected = math.log(k) * h[:, 4:].sum() / h.sum()
    assert losses["loss_sem_seg"].item() == pytest.approx(expected.item(), rel=1e-5)
    del batch[0]["hardness"]
    with EventStorage(), pytest.raises(ValueError, match="INPUT.HARDNESS_MAP_DIR"):
        model(batch)


def test_fixed_source_config_errors_are_named():
    with pytest.raises(ValueError, match="INPUT.HARDNESS_MAP_DIR"):
        build_model(tiny_cfg("MODEL.HARDNESS.SOURCE", "fixed"))
    with pytest.raises(ValueError, match="not 'HardnessHead'"):
        build_model(
            tiny_cfg(
                "MODEL.HARDNESS.SOURCE", "fixed", "INPUT.HARDNESS_MAP_DIR", "m", config=HL_CONFIG
            )
        )
