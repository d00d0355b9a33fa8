"""``datasets/prepare_cityscapes.py``: raw ``gtFine/<split>/<city>/*_gtFine_labelIds.png`` ->
``gtFine_trainIds/<split>/<city>/*_gtFine_labelTrainIds.png`` (mode "L", 19 trainIds, 255)."""

import glob
import os
from typing import List

import numpy as np

from ..datasets.cityscapes import (
    CITYSCAPES_CLASSES,
    CITYSCAPES_LABEL_ID_LUT,
    CITYSCAPES_SPLIT_SIZES,
    load_cityscapes_sem_seg,
)
from .cli import run_prepare
from .core import LabelJob, Summary, apply_lut, check_dataset_dicts, convert_labels, read_index_png

_RAW_SUFFIX = "_gtFine_labelIds.png"


def read_cityscapes_label(path: str) -> np.ndarray:
    """Raw labelIds PNG -> (H, W) uint8 trainIds."""
    return apply_lut(read_index_png(path), CITYSCAPES_LABEL_ID_LUT, path)


def cityscapes_jobs(root: str, split: str) -> List[LabelJob]:
    """One job per ``gtFine/<split>/<city>/*_gtFine_labelIds.png`` (sorted)."""
    base = os.path.join(root, "cityscapes")
    jobs = []
    for src in sorted(glob.glob(os.path.join(base, "gtFine", split, "*", "*" + _RAW_SUFFIX))):
        city, file = src.split(os.sep)[-2:]
        stem = file[: -len(_RAW_SUFFIX)]
        jobs.append(
            LabelJob(
                src=src,
                dst=os.path.join(
                    base, "gtFine_trainIds", split, city, stem + "_gtFine_labelTrainIds.png"
                ),
                image=os.path.join(base, "leftImg8bit", split, city, stem + "_leftImg8bit.png"),
                key=stem,
            )
        )
    return jobs


def convert(args) -> List[Summary]:
    summaries = []
    for split in CITYSCAPES_SPLIT_SIZES:
        jobs = cityscapes_jobs(args.root, split)
        s = convert_labels(
            f"cityscapes {split}", jobs, read_cityscapes_label, args.workers, args.overwrite
        )
        if not jobs:
            s.problems.append(
                f"no {os.path.join(args.root, 'cityscapes', 'gtFine', split)}/*/*{_RAW_SUFFIX}"
                " found (is gtFine_trainvaltest.zip unzipped there?)"
            )
        summaries.append(s)
    return summaries


def check(args) -> List[Summary]:
    return [
        check_dataset_dicts(
            f"check cityscapes_fine_sem_seg_{split}",
            lambda split=split: load_cityscapes_sem_seg(args.root, split),
            len(CITYSCAPES_CLASSES),
            expected_count=n,
            strict_count=args.strict,
            workers=args.workers,
        )
        for split, n in CITYSCAPES_SPLIT_SIZES.items()
    ]


def main(argv=None) -> int:
    return run_prepare(__doc__, convert, check, argv)
