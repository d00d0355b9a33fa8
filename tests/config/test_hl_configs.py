"""HL / PSPNet configs: every per-pixel HL config's branch holds the official values, and so do
the Cityscapes HL recipe keys."""

import pytest
import torch

from detectron2.config import instantiate
from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from hardseg.engine.lazy import load_lazy_config
from hardseg.model_zoo import CONFIG_ROOT
from tests.common import random_batch, tiny_cfg

# The per-pixel HL configs, from the file tree (that each YAML / LazyConfig twin builds the same
# model is tests/config/test_all_configs.py's).
HL_LAZIES = sorted(
    p.relative_to(CONFIG_ROOT / "lazy").with_suffix("").as_posix()
    for p in (CONFIG_ROOT / "lazy").rglob("*_hl_*.py")
    if not p.name.startswith(("maskformer2_", "u2pl_"))
)


def _yaml(stem):
    family, name = stem.split("/")
    sub = "cityscapes/semantic-segmentation" if family == "cityscapes" else family
    return f"{sub}/{name}.yaml"


def test_hl_configs_found():
    assert len(HL_LAZIES) >= 6


@pytest.mark.parametrize("stem", HL_LAZIES)
def test_hl_branch_settings(stem):
    h = instantiate(load_lazy_config(str(CONFIG_ROOT / "lazy" / f"{stem}.py")).model).sem_seg_head
    assert (h.eps, h.loss_weight) == (0.1, 0.01)
    assert h.hl.predictor.out_channels == 1
    # a separately built (freshly initialised) copy, not the decode head's weights
    seg_w = dict(h.seg.named_parameters())
    assert any(
        not torch.equal(p, seg_w[n]) for n, p in h.hl.named_parameters() if "predictor" not in n
    )


def test_cityscapes_hl_recipe_values():
    cfg = tiny_cfg(config=_yaml("cityscapes/pspnet_R101c_os8_769_hl_bs8_40k"))
    assert tuple(cfg.INPUT.CROP.SIZE) == (769, 769) and cfg.SOLVER.IMS_PER_BATCH == 8
    assert (cfg.SOLVER.BASE_LR, cfg.SOLVER.POLY_LR_POWER, cfg.SOLVER.MAX_ITER) == (0.01, 0.9, 40000)
    assert cfg.SOLVER.WEIGHT_DECAY == 5e-4 and cfg.SEED == 0
    assert cfg.TEST.MODE == "slide"
    assert tuple(cfg.TEST.SLIDE.CROP_SIZE) == (769, 769)
    assert tuple(cfg.TEST.SLIDE.STRIDE) == (513, 513)
    assert (cfg.MODEL.HARDNESS.EPS, cfg.MODEL.HARDNESS.LOSS_WEIGHT) == (0.1, 0.01)
    assert cfg.MODEL.AUX_HEAD.LOSS_WEIGHT == 0.4 and cfg.MODEL.RESNETS.CONTRACT_DILATION
    lazy = load_lazy_config(str(CONFIG_ROOT / "lazy/cityscapes/pspnet_R101c_os8_769_hl_bs8_40k.py"))
    assert lazy.dataloader.train.total_batch_size == 8
    assert tuple(lazy.dataloader.train.mapper.augmentations[1].crop_size) == (769, 769)
    assert lazy.optimizer.weight_decay == 5e-4 and lazy.train.max_iter == 40000
    assert tuple(lazy.model.inference.stride) == (513, 513)


def test_cityscapes_pspnet_hl_trains_on_an_odd_crop():
    """The headline model (R101-V1c PSPNet + aux + HL) on an odd crop padded to exactly its
    size, as the 769 recipe does (INPUT.CROP.PAD_TO_SIZE), at 65x65 instead of 769x769."""
    cfg = tiny_cfg(
        "INPUT.CROP.SIZE", (65, 65), config=_yaml("cityscapes/pspnet_R101c_os8_769_hl_bs8_40k")
    )
    model = build_model(cfg)
    assert model.pad_to_size == (65, 65)
    model.train()
    with EventStorage():
        losses = model(random_batch(n=2, h=60, w=65, num_classes=19))
    assert set(losses) == {"loss_sem_seg", "loss_hardness", "loss_aux"}
    sum(losses.values()).backward()
