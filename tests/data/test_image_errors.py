"""A truncated image or label file fails in the mapper with an error naming the file."""

import numpy as np
import pytest
from PIL import Image

from hardseg.data.image_io import ImageReadError
from hardseg.data.mappers import SemanticDatasetMapper
from tests.common import tiny_cfg, write_label_png


def _truncated(path, fmt):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(path, format=fmt)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize("fmt, name", [("JPEG", "img.jpg"), ("PNG", "img.png")])
def test_truncated_image_names_the_file(tmp_path, fmt, name):
    image = _truncated(tmp_path / name, fmt)
    mapper = SemanticDatasetMapper(tiny_cfg(), is_train=False)
    with pytest.raises(ImageReadError, match=rf"{image}: cannot decode the file .*truncated"):
        mapper({"file_name": str(image), "height": 48, "width": 64})


def test_truncated_label_names_the_file(tmp_path):
    image = tmp_path / "img.png"
    Image.fromarray(np.zeros((48, 64, 3), np.uint8)).save(image)
    label = tmp_path / "label.png"
    write_label_png(label, np.random.default_rng(0).integers(0, 7, (48, 64)))
    label.write_bytes(label.read_bytes()[:60])
    mapper = SemanticDatasetMapper(tiny_cfg(), is_train=True)
    with pytest.raises(ImageReadError, match=rf"{label}: cannot decode"):
        mapper({"file_name": str(image), "sem_seg_file_name": str(label)})


def test_missing_file_stays_file_not_found(tmp_path):
    mapper = SemanticDatasetMapper(tiny_cfg(), is_train=False)
    with pytest.raises(FileNotFoundError, match="nope.png"):
        mapper({"file_name": str(tmp_path / "nope.png")})
