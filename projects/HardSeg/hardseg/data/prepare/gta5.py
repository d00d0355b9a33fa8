"""``datasets/prepare_gta5.py``: GTA5 ``labels/NNNNN.png`` (palette PNGs of Cityscapes labelIds,
read as indices) -> ``labels_trainid/NNNNN.png`` (19 trainIds). Pairs whose image and label sizes
differ get no label; they are listed with the reason in ``labels_trainid/excluded.txt``, which the
loader and ``--check`` honour."""

import os
from typing import List

import numpy as np

from ..datasets.cityscapes import CITYSCAPES_LABEL_ID_LUT
from ..datasets.common import read_exclusions, read_list
from ..datasets.gta5 import GTA5_EXCLUSIONS, GTA5_LAYOUT, GTA5_SIZE, GTA5_SPLIT
from .cli import run_prepare
from .core import Summary, apply_lut, convert_labels, read_index_png
from .flat import check_flat, flat_jobs


def read_gta5_label(path: str) -> np.ndarray:
    return apply_lut(read_index_png(path), CITYSCAPES_LABEL_ID_LUT, path)


def _update_exclusions(root: str, summary: Summary, reset: bool) -> None:
    """Merge this run's size-mismatched pairs into the exclusion file (``<stem>\\t<reason>``);
    ``reset`` (``--overwrite``, every pair was retried) starts the file afresh."""
    path = os.path.join(root, GTA5_EXCLUSIONS)
    entries = {}
    if reset and os.path.isfile(path):
        os.remove(path)
    if os.path.isfile(path):
        entries = dict(line.split("\t", 1) for line in read_list(path) if "\t" in line)
    new = {
        key: problem
        for key, problem in zip(summary.failed_keys, summary.problems)
        if "label not written" in problem  # size mismatch (other failures are not excluded)
    }
    if new:
        entries.update(new)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("".join(f"{k}\t{v}\n" for k, v in sorted(entries.items())))
        summary.notes.append(f"{len(new)} pair(s) newly excluded, listed in {path}")


def convert(args) -> List[Summary]:
    """Convert every pair; pairs already listed in the exclusion file are skipped (they were
    reported when first found) unless ``--overwrite``, which retries them."""
    excluded = (
        set() if args.overwrite else set(read_exclusions(os.path.join(args.root, GTA5_EXCLUSIONS)))
    )
    jobs = [
        j for j in flat_jobs(args.root, "GTA5/labels", ".png", GTA5_SPLIT) if j.key not in excluded
    ]
    summary = convert_labels("gta5", jobs, read_gta5_label, args.workers, args.overwrite)
    if not jobs and not excluded:
        summary.problems.append(
            f"no *.png in {os.path.join(args.root, 'GTA5/labels')} (is GTA5 extracted there?)"
        )
    if excluded:
        summary.notes.append(f"{len(excluded)} excluded pair(s) skipped (see {GTA5_EXCLUSIONS})")
    _update_exclusions(args.root, summary, reset=args.overwrite)
    return [summary]


def check(args) -> List[Summary]:
    return [
        check_flat("gta5_sem_seg_train", args.root, GTA5_SPLIT, GTA5_LAYOUT, 19, GTA5_SIZE, args)
    ]


def main(argv=None) -> int:
    return run_prepare(__doc__, convert, check, argv)
