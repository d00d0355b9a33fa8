"""Bad input gives errors that name what is wrong and how to fix it."""

import numpy as np
import pytest
from PIL import Image

from detectron2.data import DatasetCatalog

from hardseg.data import SemanticDatasetMapper
from tests.common import tiny_cfg, write_label_png


def _pair(tmp_path, label, name="img"):
    image = tmp_path / f"{name}.png"
    Image.fromarray(np.zeros((*label.shape, 3), np.uint8)).save(image)
    gt = tmp_path / f"{name}_label.png"
    write_label_png(gt, label)
    return {
        "file_name": str(image),
        "sem_seg_file_name": str(gt),
        "height": label.shape[0],
        "width": label.shape[1],
    }


def test_label_outside_class_range_names_file_and_value(tmp_path):
    mapper = SemanticDatasetMapper(tiny_cfg(), is_train=True)
    label = np.zeros((64, 64), np.uint8)
    label[5, 5] = 9  # 7 classes: 0..6 and 255 are valid
    label[6, 6] = 255
    d = _pair(tmp_path, label)
    with pytest.raises(
        ValueError, match=r"img_label\.png: label value\(s\) \[9\] outside \[0, 7\)"
    ):
        mapper(d)
    label[5, 5] = 6
    out = mapper(_pair(tmp_path, label, "ok"))
    assert out["sem_seg"].dtype.is_floating_point is False
    assert set(out["sem_seg"].unique().tolist()) <= {0, 6, 255}


def test_palette_labels_are_read_as_indices(tmp_path):
    label = np.zeros((64, 64), np.uint8)
    label[:10] = 3
    img = Image.fromarray(label, mode="P")
    img.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 10, 20, 30] + [0] * (256 * 3 - 12))
    d = _pair(tmp_path, label)
    img.save(d["sem_seg_file_name"])
    out = SemanticDatasetMapper(
        tiny_cfg("INPUT.CROP.ENABLED", False, "INPUT.RANDOM_FLIP", "none"), is_train=True
    )(d)
    assert set(out["sem_seg"].unique().tolist()) == {0, 3}


def test_colour_label_and_size_mismatch(tmp_path):
    mapper = SemanticDatasetMapper(tiny_cfg(), is_train=True)
    d = _pair(tmp_path, np.zeros((64, 64), np.uint8))
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(d["sem_seg_file_name"])
    with pytest.raises(ValueError, match="one channel"):
        mapper(d)
    d = _pair(tmp_path, np.zeros((64, 64), np.uint8), "b")
    write_label_png(d["sem_seg_file_name"], np.zeros((32, 64)))
    with pytest.raises(ValueError, match=r"label size \(32, 64\) differs"):
        mapper(d)


def test_missing_dataset_root_says_where_and_how(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the builtin root "datasets" is relative: now it is missing
    with pytest.raises(FileNotFoundError) as e:
        DatasetCatalog.get("cityscapes_fine_sem_seg_val")
    msg = str(e.value)
    assert str(tmp_path / "datasets/cityscapes/leftImg8bit/val") in msg
    assert "DETECTRON2_DATASETS" in msg and "csCreateTrainIdLabelImgs" in msg
