"""The Pascal-Context / COCO-Stuff HRNet configs (baseline and CAC) give the official ``head``
lr_mult 10 in both config forms: backbone lr 0.004, every head parameter (CAC's projection head
and weight branch included) 0.04; the SegFormer + CAC configs carry the official per-size values;
the HRNet recipes (baselines and CAC twins) crop with mmseg's cat_max_ratio and distort colour."""

import numpy as np
import pytest
import torch
from PIL import Image

from detectron2.config import instantiate
from detectron2.data import transforms as T
from detectron2.modeling import META_ARCH_REGISTRY
from detectron2.projects.point_rend import ColorAugSSDTransform

from hardseg.data import SemanticDatasetMapper
from hardseg.data.resumable_loader import seeded_rngs
from hardseg.engine.lazy import load_lazy_config
from hardseg.model_zoo import CONFIG_ROOT
from hardseg.solver import build_optimizer
from tests.common import tiny_cfg, write_label_png

STEMS = [("pascal_context", "fcn_hr48_480_cac_bs16_60k_pc59"),
         ("coco_stuff", "fcn_hr48_480_cac_bs16_60k_cocostuff"),
         ("pascal_context", "fcn_hr48_480_bs16_60k_pc59")]  # fmt: skip


def _lrs(optimizer, model):
    lr = {id(p): g["lr"] for g in optimizer.param_groups for p in g["params"]}
    return {name: lr[id(p)] for name, p in model.named_parameters()}


def _check(lrs):
    backbone = [v for k, v in lrs.items() if k.startswith("backbone.")]
    head = [v for k, v in lrs.items() if k.startswith("sem_seg_head.")]
    assert backbone and head
    assert backbone == pytest.approx([0.004] * len(backbone))
    assert head == pytest.approx([0.04] * len(head))


@pytest.mark.parametrize("dataset,stem", STEMS)
def test_head_lr_mult_10_in_both_forms(dataset, stem):
    cfg = tiny_cfg(config=f"{dataset}/semantic-segmentation/{stem}.yaml")
    with torch.device("meta"):
        model = META_ARCH_REGISTRY.get(cfg.MODEL.META_ARCHITECTURE)(cfg)
    _check(_lrs(build_optimizer(cfg, model), model))
    if "cac" in stem:
        assert any(
            k.startswith("sem_seg_head.proj.") for k in _lrs(build_optimizer(cfg, model), model)
        )
    lazy = load_lazy_config(str(CONFIG_ROOT / "lazy" / dataset / f"{stem}.py"))
    with torch.device("meta"):
        model = instantiate(lazy.model)
    lazy.optimizer.params.model = model
    _check(_lrs(instantiate(lazy.optimizer), model))


# official configs/cac_segformer/*: (beta, warm-up) per size; alpha 1.8, tau 0.1 everywhere
OFFICIAL = {"B0": (1.5, 5000), "B1": (2.0, 5000), "B2": (2.0, 5000), "B3": (1.5, 0),
            "B4": (2.5, 0), "B5": (2.0, 0)}  # fmt: skip


@pytest.mark.parametrize("size", sorted(OFFICIAL))
def test_segformer_cac_configs_carry_the_official_values(size):
    stem = (
        "segformer_B5_640_cac_bs8_320k" if size == "B5" else f"segformer_{size}_512_cac_bs16_160k"
    )
    cfg = tiny_cfg(config=f"ade20k/semantic-segmentation/{stem}.yaml")
    c = cfg.MODEL.CAC
    assert (c.LOSS_WEIGHT, c.TEMPERATURE) == (1.8, 0.1)
    assert (c.WEIGHT_LOSS_WEIGHT, c.WARMUP_ITERS) == OFFICIAL[size]
    assert (c.INPUT_FEATURE, c.WEIGHT_BRANCH) == ("head_input", "head")
    lazy = load_lazy_config(str(CONFIG_ROOT / "lazy" / "ade20k" / f"{stem}.py"))
    head = lazy.model.sem_seg_head
    assert (head.weight_loss_weight, head.warmup_iters, head.loss_weight) == (*OFFICIAL[size], 1.8)
    if size == "B5":  # 640 crops, batch 8, 320k iterations, lr 3e-5 (x10 head)
        assert tuple(cfg.INPUT.CROP.SIZE) == (640, 640) and cfg.SOLVER.MAX_ITER == 320000
        assert cfg.SOLVER.IMS_PER_BATCH == 8 and lazy.dataloader.train.total_batch_size == 8
        assert lazy.train.max_iter == 320000 and lazy.optimizer.lr == pytest.approx(3e-4)


# The official dataset configs (CVIU-CSU/Confidence-Aware-Contrastive-Loss, mmseg 0.28,
# configs/_base_/datasets/{cityscapes,pascal_context_59,coco-stuff10k}.py) crop 512x1024 /
# 480x480 / 480x480 with cat_max_ratio 0.75, then flip and PhotoMetricDistortion (brightness
# delta 32, contrast and saturation 0.5-1.5, hue delta 18); baselines and CAC twins alike.
RECIPES = [("cityscapes", s, (512, 1024)) for s in (
    "fcn_hr48_512x1024_bs8_40k", "fcn_hr48_512x1024_cac_bs8_40k", "fcn_hr48_512x1024_bs8_120k",
    "fcn_hr48_512x1024_cac_bs8_120k", "ocr_hr48_512x1024_bs8_120k",
    "ocr_hr48_512x1024_cac_bs8_120k")] + [
    ("pascal_context", "fcn_hr48_480_bs16_60k_pc59", (480, 480)),
    ("pascal_context", "fcn_hr48_480_cac_bs16_60k_pc59", (480, 480)),
    ("coco_stuff", "fcn_hr48_480_bs16_60k_cocostuff", (480, 480)),
    ("coco_stuff", "fcn_hr48_480_cac_bs16_60k_cocostuff", (480, 480))]  # fmt: skip


def _check_pipeline(augs, crop_size):
    augs = [getattr(a, "tfm", a) for a in augs]  # a Transform in the list is wrapped
    assert [type(a) for a in augs] == [
        T.ResizeShortestEdge, T.RandomCrop_CategoryAreaConstraint, ColorAugSSDTransform,
        T.RandomFlip]  # fmt: skip
    crop, colour = augs[1], augs[2]
    assert tuple(crop.crop_size) == crop_size and crop.crop_type == "absolute"
    assert (crop.single_category_max_area, crop.ignored_category) == (0.75, 255)
    assert colour.is_rgb and colour.brightness_delta == 32 and colour.hue_delta == 18
    assert (colour.contrast_low, colour.contrast_high) == (0.5, 1.5)
    assert (colour.saturation_low, colour.saturation_high) == (0.5, 1.5)


@pytest.mark.parametrize("dataset,stem,crop_size", RECIPES)
def test_recipes_crop_with_cat_max_ratio_and_distort_colour(dataset, stem, crop_size):
    cfg = tiny_cfg(config=f"{dataset}/semantic-segmentation/{stem}.yaml")
    _check_pipeline(SemanticDatasetMapper(cfg, is_train=True).augmentations.augs, crop_size)
    lazy = load_lazy_config(str(CONFIG_ROOT / "lazy" / dataset / f"{stem}.py"))
    _check_pipeline(instantiate(lazy.dataloader.train.mapper).augmentations.augs, crop_size)


def test_category_area_constraint_holds_on_the_mapped_crop(tmp_path):
    """A 64x64 label, class 0 left, class 1 right, the top rows ignored: about half the 32x32
    crops have one class over 0.75 of the labelled pixels (x0 < 9 or > 23); every crop the mapper
    returns has two classes, the larger under 0.75 (10 draws make a failure very unlikely)."""
    label = np.zeros((64, 64), np.uint8)
    label[:, 32:] = 1
    label[:8] = 255
    write_label_png(tmp_path / "l.png", label)
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(tmp_path / "i.png")
    d = {"file_name": str(tmp_path / "i.png"), "sem_seg_file_name": str(tmp_path / "l.png"),
         "height": 64, "width": 64}  # fmt: skip
    size = ("INPUT.MIN_SIZE_TRAIN", (64,), "INPUT.MAX_SIZE_TRAIN", 64, "INPUT.CROP.SIZE", (32, 32))
    cfg = tiny_cfg(*size, "INPUT.CROP.SINGLE_CATEGORY_MAX_AREA", 0.75, "INPUT.COLOR_AUG_SSD", True)
    mapper = SemanticDatasetMapper(cfg, is_train=True)
    changed = 0
    with seeded_rngs(0):  # the global generators, restored afterwards
        outs = [mapper(d) for _ in range(20)]
    for out in outs:
        counts = torch.bincount(out["sem_seg"][out["sem_seg"] != 255].flatten(), minlength=2)
        assert (counts > 0).sum() == 2 and counts.max() < 0.75 * counts.sum()
        changed += int((out["image"] != 128).any())
    assert changed > 0  # the photometric distortion ran
