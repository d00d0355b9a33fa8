"""``datasets/prepare_robotcar.py``: Oxford RobotCar ``anno/*.png`` (RGBA, class in channel 0) ->
``anno_trainid/*.png`` (9 classes). With ``--cityscapes``, also relabels the prepared Cityscapes
trainIds (``gtFine_trainIds``, run ``prepare_cityscapes.py`` first) to the 9 RobotCar classes in
``cityscapes/gtFine_robot9/{train,val}`` (the adaptation source)."""

import glob
import os
from typing import List

import numpy as np
from PIL import Image

from ..datasets.robotcar import (
    CITYSCAPES_TRAIN_ID_TO_ROBOT9_LUT,
    ROBOTCAR_LAYOUT,
    ROBOTCAR_LUT,
    ROBOTCAR_SIZES,
    ROBOTCAR_SPLITS,
    load_cityscapes_robot9,
)
from .cli import run_prepare
from .core import LabelJob, Summary, apply_lut, check_dataset_dicts, convert_labels
from .core import read_index_png
from .flat import check_flat, convert_flat


def read_robotcar_label(path: str) -> np.ndarray:
    """Channel 0 of the RGB(A) annotation (a single-channel file is used as is), mapped."""
    with Image.open(path) as img:
        raw = np.array(img)
    if raw.ndim == 3:
        raw = raw[:, :, 0]
    return apply_lut(raw, ROBOTCAR_LUT, path)


def read_cityscapes_robot9_label(path: str) -> np.ndarray:
    """A prepared Cityscapes trainId PNG -> the 9 RobotCar classes."""
    return apply_lut(read_index_png(path), CITYSCAPES_TRAIN_ID_TO_ROBOT9_LUT, path)


def _add_arguments(parser):
    parser.add_argument(
        "--cityscapes",
        action="store_true",
        help="also write cityscapes/gtFine_robot9 from cityscapes/gtFine_trainIds",
    )


def convert(args) -> List[Summary]:
    summaries = [
        convert_flat(
            "robotcar val", args.root, "Oxford_Robot_ICCV19/anno", ".png", ROBOTCAR_SPLITS["val"],
            read_robotcar_label, args,
        )  # fmt: skip
    ]
    if args.cityscapes:
        base = os.path.join(args.root, "cityscapes")
        for split in ("train", "val"):
            pattern = os.path.join(base, "gtFine_trainIds", split, "*", "*.png")
            jobs = [
                LabelJob(
                    src=p,
                    dst=p.replace(
                        os.path.join(base, "gtFine_trainIds"), os.path.join(base, "gtFine_robot9")
                    ),
                    key=os.path.basename(p),
                )
                for p in sorted(glob.glob(pattern))
            ]
            s = convert_labels(
                f"cityscapes {split} -> robot9", jobs, read_cityscapes_robot9_label,
                args.workers, args.overwrite,
            )  # fmt: skip
            if not jobs:
                s.problems.append(f"nothing matches {pattern}: run prepare_cityscapes.py first")
            summaries.append(s)
    return summaries


def check(args) -> List[Summary]:
    summaries = [
        check_flat(
            f"robotcar_sem_seg_{s}", args.root, ROBOTCAR_SPLITS[s], ROBOTCAR_LAYOUT, 9,
            ROBOTCAR_SIZES[s], args,
        )  # fmt: skip
        for s in ("train", "val")
    ]
    if args.cityscapes:
        summaries += [
            check_dataset_dicts(
                f"check cityscapes_sem_seg_{s}_robot9",
                lambda s=s: load_cityscapes_robot9(args.root, s, f"cityscapes_sem_seg_{s}_robot9"),
                9,
                workers=args.workers,
            )
            for s in ("train", "val")
        ]
    return summaries


def main(argv=None) -> int:
    return run_prepare(__doc__, convert, check, argv, add_arguments=_add_arguments)
