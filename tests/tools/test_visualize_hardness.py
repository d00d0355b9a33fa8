"""Hardness maps of an HL model and tools/visualize_hardness.py panels."""

import numpy as np
import pytest
import torch
from PIL import Image

from detectron2.checkpoint import DetectionCheckpointer
from detectron2.data import MetadataCatalog
from detectron2.modeling import build_model

from hardseg.utils.hardness_vis import colorize, hardness_maps, hardness_panel
from tests.common import random_batch, run_tool, tiny_cfg

HL_YAML = "configs/quick_schedules/deeplabv3plus_R18_hl_instant_test.yaml"


def _hl_model():
    return build_model(tiny_cfg(config="quick_schedules/deeplabv3plus_R18_hl_instant_test.yaml"))


def test_hardness_maps_are_the_hl_branch_sigmoid():
    model = _hl_model().eval()
    torch.nn.init.normal_(model.sem_seg_head.hl.predictor.weight, 0, 1.0)
    batch = random_batch(n=1, h=32, w=48, with_labels=False)
    batch[0].update(height=64, width=96)  # output resolution differs from the input
    (m,) = hardness_maps(model, batch)
    assert m.shape == (64, 96) and 0 <= m.min() and m.max() <= 1 and m.std() > 0
    images = (batch[0]["image"] - model.pixel_mean) / model.pixel_std
    with torch.no_grad():
        z = model.sem_seg_head.hl.layers(model.backbone(images[None]))
    z = torch.nn.functional.interpolate(z, size=(32, 48), mode="bilinear")
    want = torch.nn.functional.interpolate(torch.sigmoid(z), size=(64, 96), mode="bilinear")
    torch.testing.assert_close(m, want[0, 0], rtol=1e-4, atol=1e-5)


def test_plain_model_is_refused():
    with pytest.raises(ValueError, match="no HL branch"):
        hardness_maps(build_model(tiny_cfg()), random_batch(n=1, with_labels=False))


def test_panel_layout_and_colours():
    meta = MetadataCatalog.get("hardshapes_sem_seg_val")
    image = np.full((8, 10, 3), 100, np.uint8)
    labels = np.zeros((8, 10), np.uint8)
    hard = np.zeros((8, 10))
    hard[:, 5:] = 1.0
    panel = hardness_panel(image, labels, labels, hard, meta)
    assert panel.shape == (8, 40, 3)
    heat = panel[:, 30:]
    assert heat[0, 0, 2] > 100 and heat[0, 0, 0] < 50  # 0 -> blue (easy)
    assert heat[0, 9, 0] > 100 and heat[0, 9, 2] < 50  # 1 -> red (hard)
    assert (colorize(hard) == heat).all()


def test_tool_writes_panels(tmp_path):
    weights = tmp_path / "model.pth"
    DetectionCheckpointer(_hl_model(), save_dir=str(tmp_path)).save("model")
    out = tmp_path / "vis"
    run_tool(
        "visualize_hardness.py",
        "--config-file",
        HL_YAML,
        "--output",
        out,
        "--num-images",
        2,
        "MODEL.WEIGHTS",
        weights,
    )
    files = sorted((out / "hardshapes_sem_seg_val").glob("*.png"))
    assert len(files) == 2
    w, h = Image.open(files[0]).size
    assert w == 4 * h  # image | gt | prediction | hardness
