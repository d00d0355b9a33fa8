"""``datasets/prepare_ade20k.py``: ADEChallengeData2016 ``annotations/{training,validation}``
(0 = other, 1..150) -> ``annotations_detectron2/`` (value - 1, 0 -> 255)."""

from typing import List

import numpy as np

from ..datasets.ade20k import ADE20K_LAYOUT, ADE20K_LUT, ADE20K_SPLIT_SIZES, ADE20K_SPLITS
from ..datasets.ade20k import ade20k_split
from .cli import run_prepare
from .core import Summary, apply_lut, read_index_png
from .flat import check_flat, convert_flat


def read_ade20k_label(path: str) -> np.ndarray:
    return apply_lut(read_index_png(path), ADE20K_LUT, path)


def convert(args) -> List[Summary]:
    return [
        convert_flat(
            f"ade20k {s}", args.root, f"ADEChallengeData2016/annotations/{folder}", ".png",
            ade20k_split(s), read_ade20k_label, args,
        )  # fmt: skip
        for s, folder in ADE20K_SPLITS.items()
    ]


def check(args) -> List[Summary]:
    return [
        check_flat(f"ade20k_sem_seg_{s}", args.root, ade20k_split(s), ADE20K_LAYOUT, 150, n, args)
        for s, n in ADE20K_SPLIT_SIZES.items()
    ]


def main(argv=None) -> int:
    return run_prepare(__doc__, convert, check, argv)
