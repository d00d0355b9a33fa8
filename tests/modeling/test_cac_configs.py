"""The Pascal-Context / COCO-Stuff HRNet configs (baseline and CAC) give the official ``head``
lr_mult 10 in both config forms: backbone lr 0.004, every head parameter (CAC's projection head
and weight branch included) 0.04; the SegFormer + CAC configs carry the official per-size values."""

import pytest
import torch

from detectron2.config import instantiate
from detectron2.modeling import META_ARCH_REGISTRY

from hardseg.engine.lazy import load_lazy_config
from hardseg.model_zoo import CONFIG_ROOT
from hardseg.solver import build_optimizer
from tests.common import tiny_cfg

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
