"""Every YAML and LazyConfig file loads and builds; one training step and one inference per
config family (hardshapes and Cityscapes DeepLabV3+), in both config forms."""

from pathlib import Path

import pytest
import torch

from detectron2.config import instantiate
from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from hardseg.engine.lazy import load_lazy_config
from hardseg.model_zoo import CONFIG_ROOT
from tests.common import random_batch, tiny_cfg

YAMLS = sorted(p.relative_to(CONFIG_ROOT).as_posix() for p in CONFIG_ROOT.rglob("*.yaml"))
LAZIES = sorted(
    p.relative_to(CONFIG_ROOT).as_posix()
    for p in (CONFIG_ROOT / "lazy").rglob("*.py")
    if "common" not in p.parts and p.name != "__init__.py"
)


def test_every_model_config_has_a_twin():
    models = {Path(y).stem for y in YAMLS if not Path(y).name.startswith("Base-")}
    assert models == {Path(p).stem for p in LAZIES}
    assert len(models) >= 3


def _output_classes(model):
    """Output channels of a per-pixel model's class predictor (a 1x1 conv named ``predictor`` in
    its head); None for models without one (their own tests check their class count)."""
    predictor = getattr(getattr(model, "sem_seg_head", None), "predictor", None)
    return predictor.out_channels if isinstance(predictor, torch.nn.Conv2d) else None


@pytest.mark.parametrize("path", YAMLS)
def test_yaml_loads_and_builds(path):
    cfg = tiny_cfg(config=path)
    if Path(path).name.startswith("Base-"):
        return  # a Base file holds data/solver/input only
    model = build_model(cfg)
    assert _output_classes(model) in (None, cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES)


@pytest.mark.parametrize("path", LAZIES)
def test_lazy_loads_and_builds(path):
    cfg = load_lazy_config(str(CONFIG_ROOT / path))
    model = instantiate(cfg.model)
    assert _output_classes(model) in (None, cfg.dataloader.train.mapper.num_classes)
    assert {"train", "test", "evaluator"} <= set(cfg.dataloader)


def _step_and_infer(model, num_classes, h, w):
    model.train()
    with EventStorage():
        losses = model(random_batch(n=2, h=h, w=w, num_classes=num_classes))
    sum(losses.values()).backward()
    model.eval()
    with torch.no_grad():
        out = model(random_batch(n=1, h=h, w=w, with_labels=False))
    assert out[0]["sem_seg"].shape == (num_classes, h, w)


# Cityscapes R103 at 64x128 with a crop of the same size (ASPP's crop pooling kernel = 4x8).
CITYSCAPES_YAML = "cityscapes/semantic-segmentation/deeplabv3plus_R103_os16_mg124_bs16_90k.yaml"
CITYSCAPES_LAZY = "lazy/cityscapes/deeplabv3plus_R103_os16_mg124_bs16_90k.py"


def test_cityscapes_family_step_yaml():
    model = build_model(tiny_cfg("INPUT.CROP.SIZE", (64, 128), config=CITYSCAPES_YAML))
    _step_and_infer(model, 19, 64, 128)


def test_cityscapes_family_step_lazy():
    cfg = load_lazy_config(
        str(CONFIG_ROOT / CITYSCAPES_LAZY), ["model.sem_seg_head.train_size=[64,128]"]
    )
    _step_and_infer(instantiate(cfg.model), 19, 64, 128)


def test_hardshapes_family_step_both_forms():
    _step_and_infer(
        build_model(tiny_cfg(config="hardshapes/deeplabv3plus_R18_os8_bs8_600it.yaml")), 7, 64, 96
    )
    cfg = load_lazy_config(str(CONFIG_ROOT / "lazy/hardshapes/deeplabv3plus_R18_os8_bs8_600it.py"))
    _step_and_infer(instantiate(cfg.model), 7, 64, 96)


def test_yaml_and_lazy_twins_build_the_same_model():
    for yaml_path, lazy_path in [
        (
            "hardshapes/deeplabv3plus_R18_os8_bs8_600it.yaml",
            "lazy/hardshapes/deeplabv3plus_R18_os8_bs8_600it.py",
        ),
        (CITYSCAPES_YAML, CITYSCAPES_LAZY),
        (
            "cityscapes/semantic-segmentation/maskformer2_R50_hl_bs16_90k.yaml",
            "lazy/cityscapes/maskformer2_R50_hl_bs16_90k.py",
        ),
        (
            "ade20k/semantic-segmentation/maskformer2_R50_bs16_160k.yaml",
            "lazy/ade20k/maskformer2_R50_bs16_160k.py",
        ),
        (
            "quick_schedules/maskformer2_R18_instant_test.yaml",
            "lazy/quick_schedules/maskformer2_R18_instant_test.py",
        ),
    ]:
        a = build_model(tiny_cfg(config=yaml_path)).state_dict()
        b = instantiate(load_lazy_config(str(CONFIG_ROOT / lazy_path)).model).state_dict()
        assert {k: v.shape for k, v in a.items()} == {k: v.shape for k, v in b.items()}, lazy_path
