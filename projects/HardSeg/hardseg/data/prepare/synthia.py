"""``datasets/prepare_synthia.py``: SYNTHIA-RAND-CITYSCAPES ``GT/LABELS/*.png`` (16-bit,
multi-channel, class id in the R channel) -> ``GT/LABELS_trainid/*.png`` (Cityscapes trainIds)."""

from typing import List

import cv2
import numpy as np

from ..datasets.synthia import SYNTHIA_LAYOUT, SYNTHIA_LUT, SYNTHIA_SIZE, SYNTHIA_SPLIT
from .cli import run_prepare
from .core import Summary, apply_lut
from .flat import check_flat, convert_flat


def read_synthia_label(path: str) -> np.ndarray:
    """The R channel of a 16-bit SYNTHIA label (OpenCV reads BGR[A], so R is index 2), mapped to
    trainIds. PIL cannot read these files reliably (docs/methods/datasets.md §9)."""
    raw = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise OSError(f"{path}: OpenCV cannot read this file")
    if raw.ndim == 3:
        if raw.shape[2] < 3:
            raise ValueError(f"{path}: expected 3 or 4 channels, got {raw.shape[2]}")
        raw = raw[:, :, 2]
    return apply_lut(raw, SYNTHIA_LUT, path)


def convert(args) -> List[Summary]:
    return [
        convert_flat(
            "synthia", args.root, "RAND_CITYSCAPES/GT/LABELS", ".png", SYNTHIA_SPLIT,
            read_synthia_label, args,
        )  # fmt: skip
    ]


def check(args) -> List[Summary]:
    return [
        check_flat(
            "synthia_sem_seg_train",
            args.root,
            SYNTHIA_SPLIT,
            SYNTHIA_LAYOUT,
            19,
            SYNTHIA_SIZE,
            args,
        )
    ]


def main(argv=None) -> int:
    return run_prepare(__doc__, convert, check, argv)
