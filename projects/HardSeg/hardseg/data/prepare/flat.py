"""Conversion and check of datasets stored as flat folders paired by stem (CamVid, ADE20K,
COCO-Stuff 164k, GTA5, SYNTHIA, RobotCar): the part their prepare modules share."""

import os
from typing import Callable, List, Optional

import numpy as np

from ..datasets.common import DatasetLayout, FlatSplit
from .core import LabelJob, Summary, check_dataset_dicts, convert_labels


def flat_jobs(
    root: str,
    raw_dir: str,
    raw_ext: str,
    split: FlatSplit,
) -> List[LabelJob]:
    """One job per ``<root>/<raw_dir>/<stem><raw_ext>`` -> ``<root>/<split.label_dir>/<stem>.png``,
    with the image ``<root>/<split.image_dir>/<stem><split.image_ext>``."""
    src_dir = os.path.join(root, raw_dir)
    if not os.path.isdir(src_dir):
        return []
    return [
        LabelJob(
            src=os.path.join(src_dir, f),
            dst=os.path.join(root, split.label_dir, f[: -len(raw_ext)] + split.label_ext),
            image=os.path.join(root, split.image_dir, f[: -len(raw_ext)] + split.image_ext),
            key=f[: -len(raw_ext)],
        )
        for f in sorted(os.listdir(src_dir))
        if f.endswith(raw_ext)
    ]


def convert_flat(
    title: str,
    root: str,
    raw_dir: str,
    raw_ext: str,
    split: FlatSplit,
    reader: Callable[[str], np.ndarray],
    args,
) -> Summary:
    """Convert one split; an empty raw folder is reported as a problem naming it."""
    jobs = flat_jobs(root, raw_dir, raw_ext, split)
    summary = convert_labels(title, jobs, reader, args.workers, args.overwrite)
    if not jobs:
        summary.problems.append(
            f"no *{raw_ext} in {os.path.join(root, raw_dir)} (is the raw release extracted there?)"
        )
    return summary


def check_flat(
    name: str,
    root: str,
    split: FlatSplit,
    layout: DatasetLayout,
    num_classes: int,
    expected_count: Optional[int],
    args,
) -> Summary:
    return check_dataset_dicts(
        f"check {name}",
        lambda: split.load(root, name, layout),
        num_classes,
        expected_count=expected_count,
        strict_count=args.strict,
        workers=args.workers,
    )
