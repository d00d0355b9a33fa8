"""U2PL and SupOnly recipe configs (configs/{voc,cityscapes}/semi-supervised/ and their LazyConfig
twins in configs/lazy/{voc,cityscapes}/): the official values of docs/methods/u2pl.md (§5 schedule,
§6 data and splits, §7 evaluation) are pinned for representative files, the YAML and LazyConfig
forms agree on them, and every leaf's schedule follows the epoch of
docs/methods/u2pl.md-to-iteration conversion. That every YAML / LazyConfig twin builds the same
model is tests/config/test_all_configs.py's."""

import math
from functools import lru_cache
from pathlib import Path

import pytest
import torch

from detectron2.data import MetadataCatalog
from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from hardseg.data.transforms import CenterPadToSize, SplitRandomScale
from hardseg.engine.lazy import load_lazy_config
from hardseg.model_zoo import CONFIG_ROOT
from hardseg.solver import build_optimizer
from tests.common import random_batch, tiny_cfg

VOC_U2PL = "voc/semi-supervised/u2pl_deeplabv3plus_R103_os8_mg124_513_bs16_52k_classic-92"
VOC_SUPONLY = "voc/semi-supervised/suponly_deeplabv3plus_R103_os8_mg124_513_bs16_52k_classic-92"
VOC_BLENDER = "voc/semi-supervised/u2pl_deeplabv3plus_R103_os8_mg124_513_bs16_26k_blender-1-2"
CS_U2PL = "cityscapes/semi-supervised/u2pl_deeplabv3plus_R103_os8_mg124_769_bs16_35k_1-16"
CS_SUPONLY = "cityscapes/semi-supervised/suponly_deeplabv3plus_R103_os8_mg124_769_bs16_35k_1-16"
HARDSHAPES_SUPONLY = "hardshapes/suponly_deeplabv3plus_R18_instant_test_1-16"

# Per dataset: images the splits are drawn from, epochs, GPUs x images per GPU
# (docs/methods/u2pl.md §6).
PROTOCOL = {"voc": (10582, 80, 4, 4), "cityscapes": (2975, 200, 8, 2)}

LEAVES = sorted(
    p.relative_to(CONFIG_ROOT).with_suffix("").as_posix()
    for family in ("voc", "cityscapes")
    for p in (CONFIG_ROOT / family / "semi-supervised").glob("*.yaml")
    if not p.name.startswith("Base-")
)


def _lazy_path(stem):
    return str(CONFIG_ROOT / "lazy" / stem.split("/")[0] / f"{Path(stem).name}.py")


@lru_cache(maxsize=None)
def _yaml(stem):
    return tiny_cfg(config=f"{stem}.yaml")


@lru_cache(maxsize=None)
def _lazy(stem):
    return load_lazy_config(_lazy_path(stem))


def _num_labeled(name):
    return MetadataCatalog.get(name).num_labeled


def _yaml_recipe(cfg):
    """The recipe values of a YAML config, in the form the expectations below use."""
    semi = cfg.MODEL.META_ARCHITECTURE == "U2PL"
    r = dict(
        meta_arch=cfg.MODEL.META_ARCHITECTURE,
        labeled=cfg.DATASETS.TRAIN[0],
        num_labeled=_num_labeled(cfg.DATASETS.TRAIN[0]),
        unlabeled=cfg.DATASETS.TRAIN_UNLABELED[0] if semi else None,
        test=cfg.DATASETS.TEST[0],
        crop=tuple(cfg.INPUT.CROP.SIZE),
        scale=(
            ("split", tuple(cfg.INPUT.RANDOM_SCALE.RANGE))
            if cfg.INPUT.RANDOM_SCALE.ENABLED
            else ("short_edge", tuple(cfg.INPUT.MIN_SIZE_TRAIN), cfg.INPUT.MAX_SIZE_TRAIN)
        ),
        pad=(cfg.INPUT.CROP.PAD, cfg.INPUT.CROP.PAD_LABEL_VALUE),
        batch=cfg.SOLVER.IMS_PER_BATCH,
        batch_unlabeled=cfg.SOLVER.IMS_PER_BATCH_UNLABELED if semi else None,
        lr=cfg.SOLVER.BASE_LR,
        backbone_lr_factor=cfg.SOLVER.BACKBONE_MULTIPLIER,
        weight_decay=cfg.SOLVER.WEIGHT_DECAY,
        weight_decay_norm=cfg.SOLVER.WEIGHT_DECAY_NORM,
        poly_power=cfg.SOLVER.POLY_LR_POWER,
        warmup=cfg.SOLVER.WARMUP_ITERS,
        max_iter=cfg.SOLVER.MAX_ITER,
        eval_period=cfg.TEST.EVAL_PERIOD,
        epoch_iters=cfg.MODEL.SEMISUP.EPOCH_ITERS if semi else None,
        sup_only_epochs=cfg.MODEL.SEMISUP.SUP_ONLY_EPOCHS if semi else None,
        test_mode=cfg.TEST.MODE,
        slide=(
            (tuple(cfg.TEST.SLIDE.CROP_SIZE), tuple(cfg.TEST.SLIDE.STRIDE))
            if cfg.TEST.MODE == "slide"
            else None
        ),
        loss=cfg.MODEL.SEM_SEG_HEAD.LOSS_TYPE,
        aux_loss_weight=cfg.MODEL.AUX_HEAD.LOSS_WEIGHT if cfg.MODEL.AUX_HEAD.NAME else None,
    )
    return r


def _lazy_recipe(cfg):
    """The same values read from a LazyConfig."""
    semi = "student" in cfg.model
    segmentor = cfg.model.student.segmentor if semi else cfg.model
    train = cfg.dataloader.train
    augs = train.mapper.augmentations
    resize = augs[0]
    crop = next(a for a in augs if "crop_size" in a)
    pads = [a for a in augs if a._target_ is CenterPadToSize]
    inference = segmentor.get("inference", None)
    mode = inference.mode if inference is not None else "whole"
    loss = segmentor.sem_seg_head.loss_type
    aux = segmentor.get("aux_head", None)
    return dict(
        meta_arch="U2PL" if semi else "HardSegmentor",
        labeled=train.dataset.names,
        num_labeled=_num_labeled(train.dataset.names),
        unlabeled=train.unlabeled_dataset.names if semi else None,
        test=cfg.dataloader.test.dataset.names,
        crop=tuple(crop.crop_size),
        scale=(
            ("split", tuple(resize.scale_range))
            if resize._target_ is SplitRandomScale
            else ("short_edge", tuple(resize.short_edge_length), resize.max_size)
        ),
        pad=("center", pads[0].label_pad_value) if pads else ("none", 0),
        batch=train.total_batch_size,
        batch_unlabeled=train.total_batch_size_unlabeled if semi else None,
        lr=cfg.optimizer.lr,
        backbone_lr_factor=cfg.optimizer.params.get("backbone_multiplier", 1.0),
        weight_decay=cfg.optimizer.weight_decay,
        weight_decay_norm=cfg.optimizer.params.weight_decay_norm,
        poly_power=cfg.lr_multiplier.power,
        warmup=cfg.lr_multiplier.warmup_length,
        max_iter=cfg.train.max_iter,
        eval_period=cfg.train.eval_period,
        epoch_iters=cfg.model.config.epoch_iters if semi else None,
        sup_only_epochs=cfg.model.config.sup_only_epochs if semi else None,
        test_mode=mode,
        slide=(tuple(inference.crop_size), tuple(inference.stride)) if mode == "slide" else None,
        loss=loss if isinstance(loss, str) else loss[0].name,
        aux_loss_weight=aux.loss_weight if aux is not None else None,
    )


VOC_COMMON = dict(
    test="voc_2012_sem_seg_val",
    crop=(513, 513),
    scale=("split", (0.5, 2.0)),  # docs/methods/u2pl.md §13.3
    pad=("center", 0),  # docs/methods/u2pl.md §9 #7, §13.3
    batch=16,
    lr=0.01,  # decoder: 0.001 x 10
    backbone_lr_factor=0.1,  # backbone: 0.001
    weight_decay=1e-4,
    weight_decay_norm=1e-4,
    poly_power=0.9,
    warmup=0,
    test_mode="whole",
    slide=None,
    loss="cross_entropy",
    aux_loss_weight=None,
)
CS_COMMON = dict(
    test="cityscapes_fine_sem_seg_val",
    crop=(769, 769),
    scale=("split", (0.5, 2.0)),
    pad=("center", 0),
    batch=16,
    lr=0.01,
    backbone_lr_factor=1.0,
    weight_decay=5e-4,
    weight_decay_norm=5e-4,
    poly_power=0.9,
    warmup=0,
    eval_period=0,
    test_mode="slide",
    slide=((769, 769), (513, 513)),
    loss="ohem_cross_entropy",
    aux_loss_weight=0.4,
)
EXPECTED = {
    VOC_U2PL: dict(
        VOC_COMMON,
        meta_arch="U2PL",
        labeled="voc_2012_sem_seg_train_aug_classic_92_labeled",
        num_labeled=92,
        unlabeled="voc_2012_sem_seg_train_aug_classic_92_unlabeled",
        batch_unlabeled=16,
        epoch_iters=655,
        max_iter=52400,
        eval_period=655,
        sup_only_epochs=1,
    ),
    VOC_SUPONLY: dict(
        VOC_COMMON,
        meta_arch="HardSegmentor",
        labeled="voc_2012_sem_seg_train_aug_classic_92_labeled",
        num_labeled=92,
        unlabeled=None,
        batch_unlabeled=None,
        epoch_iters=None,
        max_iter=52400,
        eval_period=655,
        sup_only_epochs=None,
    ),
    VOC_BLENDER: dict(
        VOC_COMMON,
        meta_arch="U2PL",
        labeled="voc_2012_sem_seg_train_aug_blender_1-2_labeled",
        num_labeled=5291,
        unlabeled="voc_2012_sem_seg_train_aug_blender_1-2_unlabeled",
        batch_unlabeled=16,
        epoch_iters=330,
        max_iter=26400,
        eval_period=330,
        sup_only_epochs=1,
    ),
    CS_U2PL: dict(
        CS_COMMON,
        meta_arch="U2PL",
        labeled="cityscapes_sem_seg_train_1-16_labeled",
        num_labeled=186,
        unlabeled="cityscapes_sem_seg_train_1-16_unlabeled",
        batch_unlabeled=16,
        epoch_iters=174,
        max_iter=34800,
        sup_only_epochs=0,
    ),
    CS_SUPONLY: dict(
        CS_COMMON,
        meta_arch="HardSegmentor",
        labeled="cityscapes_sem_seg_train_1-16_labeled",
        num_labeled=186,
        unlabeled=None,
        batch_unlabeled=None,
        epoch_iters=None,
        max_iter=34800,
        sup_only_epochs=None,
    ),
}


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_recipe_values_in_both_forms(stem):
    assert _yaml_recipe(_yaml(stem)) == EXPECTED[stem]
    assert _lazy_recipe(_lazy(stem)) == EXPECTED[stem]


def test_u2pl_constants_in_both_forms():
    for stem in (VOC_U2PL, CS_U2PL):
        cfg, lazy = _yaml(stem), _lazy(stem)
        s, u = cfg.MODEL.SEMISUP, cfg.MODEL.SEMISUP.U2PL
        yaml_values = (s.EMA_DECAY, s.MIX, s.MIX_PROB, u.ALPHA0, u.CONTRAST_WEIGHT)
        lazy_values = tuple(
            lazy.model.config[k]
            for k in ("ema_decay", "mix", "mix_prob", "alpha0", "contrast_weight")
        )
        assert yaml_values == lazy_values == (0.99, "cutmix", 0.5, 20.0, 0.1)
        assert (
            not u.CONTRAST_DIVIDE_BY_WORLD_SIZE
            and not lazy.model.config.contrast_divide_by_world_size
        )
        assert cfg.MODEL.SEM_SEG_LOSS.OHEM_CROSS_ENTROPY.THRESH == 0.7
        assert cfg.MODEL.SEM_SEG_LOSS.OHEM_CROSS_ENTROPY.MIN_KEPT == 100000


@pytest.mark.parametrize("stem", LEAVES)
def test_schedule_follows_the_epoch_conversion(stem):
    """MAX_ITER = E x floor(ceil(N_u / GPUs) / images per GPU), N_u counted from the registered
    labeled split; the SupOnly twin keeps its U2PL twin's length, the file name its rounded
    thousands; the LazyConfig twin agrees."""
    family, name = stem.split("/")[0], Path(stem).name
    total, epochs, gpus, per_gpu = PROTOCOL[family]
    cfg, lazy = _yaml(stem), _lazy(stem)
    epoch_iters = math.ceil((total - _num_labeled(cfg.DATASETS.TRAIN[0])) / gpus) // per_gpu
    assert cfg.SOLVER.MAX_ITER == lazy.train.max_iter == epoch_iters * epochs
    assert f"_{round(cfg.SOLVER.MAX_ITER / 1000)}k_" in name
    if name.startswith("u2pl_"):
        assert cfg.MODEL.SEMISUP.EPOCH_ITERS == lazy.model.config.epoch_iters == epoch_iters
        # the U2PL + HL configs share their U2PL config's SupOnly twin
        base = name.replace("_hl_", "_")
        twin = f"{family}/semi-supervised/{base.replace('u2pl_', 'suponly_', 1)}"
        assert _yaml(twin).DATASETS.TRAIN == cfg.DATASETS.TRAIN
        assert _yaml(twin).SOLVER.MAX_ITER == cfg.SOLVER.MAX_ITER
    if family == "voc":
        assert cfg.TEST.EVAL_PERIOD == lazy.train.eval_period == epoch_iters


def test_hardshapes_suponly_is_the_u2pl_instant_test_without_unlabeled_data():
    sup = _yaml(HARDSHAPES_SUPONLY)
    semi = tiny_cfg(config="hardshapes/u2pl_deeplabv3plus_R18_instant_test_1-16.yaml")
    assert sup.MODEL.META_ARCHITECTURE == "HardSegmentor" and not sup.DATASETS.TRAIN_UNLABELED
    assert sup.DATASETS.TRAIN == semi.DATASETS.TRAIN == ("hardshapes_sem_seg_train_1-16_labeled",)
    for key in ("IMS_PER_BATCH", "MAX_ITER", "BASE_LR"):
        assert sup.SOLVER[key] == semi.SOLVER[key], key
    assert tuple(sup.INPUT.CROP.SIZE) == tuple(semi.INPUT.CROP.SIZE)
    lazy = _lazy(HARDSHAPES_SUPONLY)
    assert lazy.dataloader.train.dataset.names == "hardshapes_sem_seg_train_1-16_labeled"
    assert lazy.dataloader.train.total_batch_size == 2 and lazy.train.max_iter == 20


def _lr_by_part(model, optimizer, prefix):
    """{"backbone" | "other": set of LRs} over the trainable parameters under ``prefix``."""
    part = {
        id(p): "backbone" if n.startswith(f"{prefix}backbone.") else "other"
        for n, p in model.named_parameters()
        if n.startswith(prefix)
    }
    lrs = {"backbone": set(), "other": set()}
    for group in optimizer.param_groups:
        for p in group["params"]:
            if id(p) in part:
                lrs[part[id(p)]].add(round(group["lr"], 12))
    return lrs


def test_voc_suponly_backbone_lr_is_a_tenth_of_the_decoder_lr():
    cfg = _yaml(VOC_SUPONLY)
    model = build_model(cfg)
    lrs = _lr_by_part(model, build_optimizer(cfg, model), "")
    assert lrs == {"backbone": {0.001}, "other": {0.01}}


def test_voc_u2pl_backbone_lr_is_a_tenth_of_the_decoder_lr():
    cfg = _yaml(VOC_U2PL)
    model = build_model(cfg)
    lrs = _lr_by_part(model, build_optimizer(cfg, model), "student.segmentor.")
    assert lrs == {"backbone": {0.001}, "other": {0.01}}


def test_cityscapes_u2pl_trains_on_an_odd_crop():
    """One semi-supervised step of the full Cityscapes recipe (OHEM, aux head, embedding head,
    sup-only epochs 0) at 65x65, then sliding-window inference on a smaller image."""
    torch.manual_seed(0)
    model = build_model(_yaml(CS_U2PL))
    model.train()
    batch = {
        "labeled": random_batch(n=2, h=65, w=65, num_classes=19),
        "unlabeled": random_batch(n=2, h=65, w=65, seed=1, with_labels=False),
    }
    with EventStorage(0):
        losses = model(batch)
    assert set(losses) == {"loss_sem_seg", "loss_aux", "loss_sem_seg_unsup", "loss_contrast"}
    sum(losses.values()).backward()
    model.eval()
    with torch.no_grad():
        out = model(random_batch(n=1, h=65, w=97, with_labels=False))
    assert out[0]["sem_seg"].shape == (19, 65, 97)


@pytest.mark.parametrize("stem", LEAVES)
def test_official_network_has_the_ceil_mode_stem_and_no_padding(stem):
    """Every VOC / Cityscapes U2PL and SupOnly config (HL ones included) uses the official deep
    stem's ceil-mode max-pool and feeds the odd crops unpadded (docs/methods/u2pl.md §13.4), in
    both forms."""
    cfg, lazy = _yaml(stem), _lazy(stem)
    assert cfg.MODEL.RESNETS.STEM_POOL_CEIL_MODE is True
    assert cfg.MODEL.RESNETS.SIZE_DIVISIBILITY == 0
    segmentor = lazy.model.student.segmentor if "student" in lazy.model else lazy.model
    assert segmentor.backbone.stem_pool_ceil_mode is True
    assert segmentor.backbone.size_divisibility == 0


def test_no_other_config_turns_the_ceil_mode_stem_on():
    """The key defaults to detectron2's floor-mode stem; only the U2PL network's configs set it."""
    assert tiny_cfg().MODEL.RESNETS.STEM_POOL_CEIL_MODE is False
    official = {f"{stem}.yaml" for stem in LEAVES} | {
        f"{family}/semi-supervised/Base-{name}-{kind}.yaml"
        for family, name in (("voc", "VOC"), ("cityscapes", "Cityscapes"))
        for kind in ("SemiSup", "U2PL")
    }
    for path in CONFIG_ROOT.rglob("*.yaml"):
        rel = path.relative_to(CONFIG_ROOT).as_posix()
        if "STEM_POOL_CEIL_MODE" in path.read_text():
            assert rel in official, rel
    for path in (CONFIG_ROOT / "lazy").rglob("*.py"):
        if "stem_pool_ceil_mode" in path.read_text():
            assert path.name == "deeplabv3plus_u2pl.py", path
