"""``datasets/prepare_pascal_context.py``: PASCAL-Context ``VOC2010/trainval/<id>.mat``
(``LabelMap``, full-vocabulary ids 0..459) -> ``SegmentationClassContext60/<id>.png`` (60 classes,
0 = background) and ``SegmentationClassContext59/<id>.png`` (59 classes, background -> 255), for the
ids of ``ImageSets/SegmentationContext/{train,val}.txt``."""

import os
from typing import List

import numpy as np
import scipy.io

from ..datasets.common import read_list
from ..datasets.pascal_context import (
    PASCAL_CONTEXT_59_LUT,
    PASCAL_CONTEXT_60_LUT,
    PASCAL_CONTEXT_SPLIT_SIZES,
    PASCAL_CONTEXT_VARIANTS,
    load_pascal_context,
    pascal_context_dirs,
)
from .cli import run_prepare
from .core import LabelJob, Summary, apply_lut, check_dataset_dicts, convert_labels


def _label_map(path: str) -> np.ndarray:
    mat = scipy.io.loadmat(path)
    if "LabelMap" not in mat:
        raise KeyError(f"{path}: no field 'LabelMap' (is this a PASCAL-Context trainval .mat?)")
    return np.asarray(mat["LabelMap"])


def read_pascal_context_60_label(path: str) -> np.ndarray:
    return apply_lut(_label_map(path), PASCAL_CONTEXT_60_LUT, path)


def read_pascal_context_59_label(path: str) -> np.ndarray:
    return apply_lut(_label_map(path), PASCAL_CONTEXT_59_LUT, path)


_READERS = {60: read_pascal_context_60_label, 59: read_pascal_context_59_label}


def convert(args) -> List[Summary]:
    d = pascal_context_dirs(args.root)
    summaries = []
    for split in PASCAL_CONTEXT_SPLIT_SIZES:
        list_file = os.path.join(d["lists"], f"{split}.txt")
        if not os.path.isfile(list_file):
            summaries.append(Summary(f"pascal_context {split}", problems=[f"{list_file} missing"]))
            continue
        ids = read_list(list_file)
        for k in PASCAL_CONTEXT_VARIANTS:
            jobs = [
                LabelJob(
                    src=os.path.join(d["raw"], f"{i}.mat"),
                    dst=os.path.join(d[k], f"{i}.png"),
                    image=os.path.join(d["images"], f"{i}.jpg"),
                    key=i,
                )
                for i in ids
            ]
            summaries.append(
                convert_labels(
                    f"pascal_context_{k} {split}", jobs, _READERS[k], args.workers, args.overwrite
                )
            )
    return summaries


def check(args) -> List[Summary]:
    return [
        check_dataset_dicts(
            f"check pascal_context_{k}_sem_seg_{s}",
            lambda s=s, k=k: load_pascal_context(
                args.root, s, k, f"pascal_context_{k}_sem_seg_{s}"
            ),
            k,
            expected_count=n,
            strict_count=args.strict,
            workers=args.workers,
        )
        for k in PASCAL_CONTEXT_VARIANTS
        for s, n in PASCAL_CONTEXT_SPLIT_SIZES.items()
    ]


def main(argv=None) -> int:
    return run_prepare(__doc__, convert, check, argv)
