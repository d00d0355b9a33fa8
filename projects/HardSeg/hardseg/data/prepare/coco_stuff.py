"""``datasets/prepare_coco_stuff.py``: COCO-Stuff labels -> 171 contiguous classes, mode "L".

* 164k: ``coco_stuff164k/annotations/{train2017,val2017}/*.png`` (COCO id - 1, 255 unlabeled) ->
  ``coco_stuff164k/annotations_detectron2/``.
* 10k: ``coco_stuff_10k/annotations/<id>.mat`` (field ``S``; ``--version 1.1``: COCO ids, 0
  unlabeled; ``--version 1.0``: 1-based contiguous, 1 unlabeled) -> ``annotations_detectron2/
  {train,test}/<id>.png`` for the ids of ``imageLists/{train,test}.txt``. A value outside the
  chosen version's range is reported, which catches the wrong ``--version``.
"""

import os
from typing import List

import numpy as np
import scipy.io

from ..datasets.coco_stuff import (
    COCO_STUFF_10K_SIZES,
    COCO_STUFF_10K_SPLITS,
    COCO_STUFF_10K_V10_LUT,
    COCO_STUFF_10K_V11_LUT,
    COCO_STUFF_164K_LAYOUT,
    COCO_STUFF_164K_LUT,
    COCO_STUFF_164K_SIZES,
    COCO_STUFF_164K_SPLITS,
    coco_stuff_164k_split,
    load_coco_stuff_10k,
)
from ..datasets.common import read_list
from .cli import run_prepare
from .core import LabelJob, Summary, apply_lut, check_dataset_dicts, convert_labels
from .core import read_index_png
from .flat import check_flat, convert_flat


def read_coco_stuff_164k_label(path: str) -> np.ndarray:
    return apply_lut(read_index_png(path), COCO_STUFF_164K_LUT, path)


def _read_mat_s(path: str) -> np.ndarray:
    mat = scipy.io.loadmat(path)
    if "S" not in mat:
        raise KeyError(f"{path}: no field 'S' (is this a cocostuff-10k annotation?)")
    return np.asarray(mat["S"])


def read_coco_stuff_10k_v11_label(path: str) -> np.ndarray:
    return apply_lut(_read_mat_s(path), COCO_STUFF_10K_V11_LUT, path)


def read_coco_stuff_10k_v10_label(path: str) -> np.ndarray:
    return apply_lut(_read_mat_s(path), COCO_STUFF_10K_V10_LUT, path)


def _add_arguments(parser):
    parser.add_argument(
        "--which",
        choices=["164k", "10k", "all"],
        default="all",
        help="which release to prepare or check (default: both)",
    )
    parser.add_argument(
        "--version",
        choices=["1.0", "1.1"],
        default="1.1",
        help="COCO-Stuff-10k release of the .mat files (default 1.1, the current download)",
    )


def _wanted(args, which):
    return args.which in (which, "all")


def convert(args) -> List[Summary]:
    summaries = []
    if _wanted(args, "164k"):
        for s, folder in COCO_STUFF_164K_SPLITS.items():
            summaries.append(
                convert_flat(
                    f"coco_stuff_164k {s}", args.root, f"coco_stuff164k/annotations/{folder}",
                    ".png", coco_stuff_164k_split(s), read_coco_stuff_164k_label, args,
                )  # fmt: skip
            )
    if _wanted(args, "10k"):
        base = os.path.join(args.root, "coco_stuff_10k")
        reader = {"1.0": read_coco_stuff_10k_v10_label, "1.1": read_coco_stuff_10k_v11_label}
        for s in COCO_STUFF_10K_SPLITS:
            list_file = os.path.join(base, "imageLists", f"{s}.txt")
            if not os.path.isfile(list_file):
                summaries.append(Summary(f"coco_stuff_10k {s}", problems=[f"{list_file} missing"]))
                continue
            jobs = [
                LabelJob(
                    src=os.path.join(base, "annotations", f"{i}.mat"),
                    dst=os.path.join(base, "annotations_detectron2", s, f"{i}.png"),
                    image=os.path.join(base, "images", f"{i}.jpg"),
                    key=i,
                )
                for i in read_list(list_file)
            ]
            summaries.append(
                convert_labels(
                    f"coco_stuff_10k v{args.version} {s}", jobs, reader[args.version],
                    args.workers, args.overwrite,
                )  # fmt: skip
            )
    return summaries


def check(args) -> List[Summary]:
    summaries = []
    if _wanted(args, "164k"):
        summaries += [
            check_flat(
                f"coco_stuff_164k_sem_seg_{s}", args.root, coco_stuff_164k_split(s),
                COCO_STUFF_164K_LAYOUT, 171, COCO_STUFF_164K_SIZES[s], args,
            )  # fmt: skip
            for s in COCO_STUFF_164K_SPLITS
        ]
    if _wanted(args, "10k"):
        summaries += [
            check_dataset_dicts(
                f"check coco_2017_{s}_stuff_10k_sem_seg",
                lambda s=s: load_coco_stuff_10k(args.root, s, f"coco_2017_{s}_stuff_10k_sem_seg"),
                171,
                expected_count=COCO_STUFF_10K_SIZES[s],
                strict_count=args.strict,
                workers=args.workers,
            )
            for s in COCO_STUFF_10K_SPLITS
        ]
    return summaries


def main(argv=None) -> int:
    return run_prepare(__doc__, convert, check, argv, add_arguments=_add_arguments)
