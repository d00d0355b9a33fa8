"""MODEL.HARDNESS.BRANCH "light": a small HL branch; training works as with the copy, and
inference is exactly the plain model's."""

import importlib.util

import pytest
import torch

from detectron2.config import instantiate
from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from hardseg.engine.lazy import load_lazy_config
from hardseg.model_zoo import CONFIG_ROOT
from hardseg.modeling.heads.hl_light_branch import LightHardnessBranch
from tests.common import random_batch, tiny_cfg

PLAIN_LAZY = "deeplabv3plus_R18_instant_test.py"
HL = "quick_schedules/deeplabv3plus_R18_hl_instant_test.yaml"


def test_light_branch_trains_and_inference_equals_the_plain_model():
    torch.manual_seed(0)
    light = ("MODEL.HARDNESS.BRANCH", "light", "MODEL.HARDNESS.LIGHT_CHANNELS", 8)
    model = build_model(tiny_cfg(*light, config=HL))
    hl = model.sem_seg_head.hl
    assert isinstance(hl, LightHardnessBranch) and hl.in_features == ["res2", "res5"]
    copy_model = build_model(tiny_cfg(config=HL))
    n_light = sum(p.numel() for p in hl.parameters())
    assert n_light < sum(p.numel() for p in copy_model.sem_seg_head.hl.parameters()) / 2
    model.train()
    with EventStorage(0):
        losses = model(random_batch(2, 32, 32, seed=0))
    assert set(losses) == {"loss_sem_seg", "loss_hardness"}
    model.zero_grad()
    losses["loss_hardness"].backward()  # reaches only the HL branch (detached features)
    assert all(p.grad is not None for p in hl.parameters())
    assert all(p.grad is None for p in model.backbone.parameters())
    assert all(p.grad is None for p in model.sem_seg_head.seg.parameters())

    # the checkpoint minus hl.* is a plain model's; its eval outputs are the plain model's
    plain = build_model(tiny_cfg(config="quick_schedules/deeplabv3plus_R18_instant_test.yaml"))
    state = {k: v for k, v in model.state_dict().items() if ".hl." not in k}
    assert set(state) == set(plain.state_dict())
    plain.load_state_dict(state)
    model.eval(), plain.eval()
    images = [{"image": x["image"]} for x in random_batch(2, 48, 40, seed=1)]
    with torch.no_grad():
        for a, b in zip(model(images), plain(images)):
            assert torch.equal(a["sem_seg"], b["sem_seg"])


def test_bad_branch_and_lazy_twin():
    with pytest.raises(ValueError, match="MODEL.HARDNESS.BRANCH='tiny'"):
        build_model(tiny_cfg("MODEL.HARDNESS.BRANCH", "tiny", config=HL))
    # the Lazy twin: add_hardness(model, branch="light") on the plain instant model
    spec = importlib.util.spec_from_file_location(
        "lazy_hardness", CONFIG_ROOT / "lazy" / "common" / "models" / "hardness.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lazy = load_lazy_config(str(CONFIG_ROOT / "lazy" / "quick_schedules" / PLAIN_LAZY))
    lazy.model = module.add_hardness(lazy.model, branch="light", light_norm="BN")
    lazy.model.device = "cpu"
    model = instantiate(lazy.model)
    assert isinstance(model.sem_seg_head.hl, LightHardnessBranch)
    assert model.sem_seg_head.hl.in_features == ["res2", "res5"]
