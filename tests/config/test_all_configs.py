"""Every YAML and LazyConfig file loads and builds a model with the config's class count; every
model config's YAML and LazyConfig twins build the same model; one training step and one inference
per config family (hardshapes and Cityscapes DeepLabV3+), in both config forms."""

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import pytest
import torch

from detectron2.config import instantiate
from detectron2.modeling import META_ARCH_REGISTRY, build_model
from detectron2.utils.events import EventStorage

from hardseg.engine.lazy import load_lazy_config
from hardseg.model_zoo import CONFIG_ROOT
from hardseg.modeling.inference import InferenceConfig
from hardseg.modeling.losses.build import WeightedSumLoss
from hardseg.modeling.meta_arch import TeacherStudent
from tests.common import random_batch, tiny_cfg

YAMLS = sorted(p.relative_to(CONFIG_ROOT).as_posix() for p in CONFIG_ROOT.rglob("*.yaml"))
LAZIES = sorted(
    p.relative_to(CONFIG_ROOT).as_posix()
    for p in (CONFIG_ROOT / "lazy").rglob("*.py")
    if "common" not in p.parts and p.name != "__init__.py"
)


# Twins: a model config's YAML form and its LazyConfig form have the same file stem.
YAML_BY_STEM = {Path(y).stem: y for y in YAMLS if not Path(y).name.startswith("Base-")}
LAZY_BY_STEM = {Path(p).stem: p for p in LAZIES}


def test_every_model_config_has_a_twin():
    assert len(YAML_BY_STEM) == len(YAMLS) - sum(Path(y).name.startswith("Base-") for y in YAMLS)
    assert len(LAZY_BY_STEM) == len(LAZIES)  # stems are unique within each form
    assert set(YAML_BY_STEM) == set(LAZY_BY_STEM)
    assert len(YAML_BY_STEM) >= 40


def _output_classes(model):
    """Classes a model predicts: the out channels of its per-pixel head's 1x1 ``predictor`` (the
    decode head's, inside a HardnessHead; the student's, in a teacher-student model), or the
    outputs of a mask-classification model's ``class_embed`` less the no-object class."""
    if isinstance(model, TeacherStudent):
        return _output_classes(model.per_pixel_model(model.student))
    if isinstance(getattr(model, "segmentor", None), torch.nn.Module):  # AdaptSegNetWarmup
        return _output_classes(model.segmentor)
    head = getattr(model, "sem_seg_head", None)
    head = getattr(head, "seg", head)  # HardnessHead wraps the decode head
    predictor = getattr(head, "predictor", None)
    branches = getattr(head, "branches", None)  # ASPPV2Head: summed parallel classifiers
    if predictor is None and isinstance(branches, torch.nn.ModuleList):
        predictor = branches[0]
    if isinstance(predictor, torch.nn.Conv2d):
        return predictor.out_channels
    class_embeds = [m for n, m in model.named_modules() if n.endswith("class_embed")]
    assert class_embeds, f"no class predictor found in {type(model).__name__}"
    assert len({m.out_features for m in class_embeds}) == 1
    return class_embeds[0].out_features - 1


@pytest.mark.parametrize("path", YAMLS)
def test_yaml_loads_and_builds(path):
    cfg = tiny_cfg(config=path)
    if Path(path).name.startswith("Base-"):
        return  # a Base file holds data/solver/input only
    model = build_model(cfg)
    assert _output_classes(model) == cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES


@pytest.mark.parametrize("path", LAZIES)
def test_lazy_loads_and_builds(path):
    cfg = load_lazy_config(str(CONFIG_ROOT / path))
    model = instantiate(cfg.model)
    assert _output_classes(model) == cfg.dataloader.train.mapper.num_classes
    assert {"train", "test", "evaluator"} <= set(cfg.dataloader)


_SKIP = object()


def _plain(value):
    """A comparable form of a module attribute, or _SKIP (tensors, modules, callables, ...)."""
    if isinstance(value, (bool, int, float, str, type(None), torch.dtype)):
        return value
    if isinstance(value, Sequence) and not isinstance(value, str):  # lists, Lazy ListConfigs
        items = [_plain(v) for v in value]
        return _SKIP if any(v is _SKIP for v in items) else tuple(items)
    if isinstance(value, InferenceConfig):  # ratios / flip are read only when aug is on
        value = value if value.aug else dataclasses.replace(value, ratios=(), flip=False)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(tuple((f.name, getattr(value, f.name)) for f in dataclasses.fields(value)))
    return _SKIP


def _loss_terms(loss):
    """(type, weight, settings) per term: a one-term WeightedSumLoss equals its single loss."""
    if isinstance(loss, WeightedSumLoss):
        return tuple((type(m).__name__, w, _settings(m)) for _, w, m in loss.terms)
    return ((type(loss).__name__, 1.0, _settings(loss)),)


def _settings(module, prefix=""):
    """Every submodule's type, plain attributes and parameter / buffer shapes; loss modules as
    their terms. ``loss_type`` (the spec the ``loss`` module was built from) is left out."""
    out = {}
    for name, child in module.named_children():
        key = f"{prefix}{name}"
        if name in ("loss", "criterion") or isinstance(child, WeightedSumLoss):
            out[key] = _loss_terms(child)
        else:
            out[f"{key}:type"] = type(child).__name__
            out.update(_settings(child, f"{key}."))
    for name, value in vars(module).items():
        if not name.startswith("_") and name not in ("training", "loss_type"):
            if (v := _plain(value)) is not _SKIP:
                out[f"{prefix}{name}"] = v
    for name, t in list(module.named_parameters(recurse=False)) + list(
        module.named_buffers(recurse=False)
    ):
        out[f"{prefix}{name}:shape"] = tuple(t.shape)
    return out


@pytest.mark.parametrize("stem", sorted(YAML_BY_STEM))
def test_yaml_and_lazy_twins_build_the_same_model(stem):
    """Same architecture, parameter shapes and settings (U2PLConfig, InferenceConfig, losses,
    norms, dropout, ...). Built on the meta device: no memory, no initialisation."""
    cfg = tiny_cfg(config=YAML_BY_STEM[stem])
    lazy = load_lazy_config(str(CONFIG_ROOT / LAZY_BY_STEM[stem]))
    with torch.device("meta"):
        a = META_ARCH_REGISTRY.get(cfg.MODEL.META_ARCHITECTURE)(cfg)
        b = instantiate(lazy.model)
    assert type(a) is type(b)
    sa, sb = _settings(a), _settings(b)
    diff = {
        k: (sa.get(k, "-"), sb.get(k, "-")) for k in set(sa) | set(sb) if sa.get(k) != sb.get(k)
    }
    assert not diff, f"YAML vs Lazy ({len(diff)}): {dict(sorted(diff.items())[:5])}"


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
