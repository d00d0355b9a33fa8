"""Oxford RobotCar ("Oxford_Robot_ICCV19"), the target domain of Cityscapes -> RobotCar adaptation,
9 classes (894 unlabeled train, 271 labeled val images). See docs/methods/datasets.md §10.

Registered (9 ``stuff_classes``, in this dataset's order, not Cityscapes'):

* ``robotcar_sem_seg_train``: unlabeled target images (no ``sem_seg_file_name``).
* ``robotcar_sem_seg_val``: labeled, ``evaluator_type="sem_seg"`` (mIoU-9).
* ``cityscapes_sem_seg_{train,val}_robot9``: the Cityscapes source relabelled to the 9 classes,
  read from ``cityscapes/gtFine_robot9/`` (``prepare_robotcar.py --cityscapes``).

Raw annotations ``anno/*.png`` are RGBA; the class is channel 0, mapped with ``ROBOTCAR_LUT``.
"""

import os
from typing import List

from .cityscapes import CITYSCAPES_COLORS, load_cityscapes_sem_seg
from .common import (
    IGNORE_LABEL,
    DatasetLayout,
    FlatSplit,
    make_lut,
    register_flat_splits,
    register_lazy,
)

__all__ = [
    "ROBOTCAR_CLASSES",
    "ROBOTCAR_COLORS",
    "ROBOTCAR_RAW_TO_TRAIN_ID",
    "ROBOTCAR_LUT",
    "CITYSCAPES_TRAIN_ID_TO_ROBOT9",
    "CITYSCAPES_TRAIN_ID_TO_ROBOT9_LUT",
    "ROBOTCAR_SPLITS",
    "ROBOTCAR_LAYOUT",
]

# Class order (Seg-Uncertainty / HIAST oxford_dataset.py; docs/methods/datasets.md §10).
ROBOTCAR_CLASSES = [
    "sky", "person", "two-wheel", "automobile", "sign", "light", "building", "sidewalk", "road",
]  # fmt: skip
# The Cityscapes colours of the matching classes (sky, person, bicycle, car, traffic sign, traffic
# light, building, sidewalk, road), docs/methods/datasets.md §1; RobotCar has no official palette.
ROBOTCAR_COLORS = [list(CITYSCAPES_COLORS[i]) for i in (10, 11, 18, 13, 7, 6, 2, 1, 0)]
# Annotation channel 0 -> class (docs/methods/datasets.md §10); every other value -> 255.
ROBOTCAR_RAW_TO_TRAIN_ID = {
    1: 0, 2: 1, 3: 2, 4: 3, 5: 4, 6: 5, 7: 6, 10: 7, 11: 8, 12: 8, 13: 8, 14: 8, 17: 8,
}  # fmt: skip
ROBOTCAR_LUT = make_lut(ROBOTCAR_RAW_TO_TRAIN_ID, 256, default=IGNORE_LABEL)
# Cityscapes trainId -> RobotCar class (HIAST cityscapes_dataset.py; docs/methods/datasets.md §10);
# wall, fence, pole, vegetation, terrain, train -> 255.
CITYSCAPES_TRAIN_ID_TO_ROBOT9 = {
    0: 8, 1: 7, 2: 6, 6: 5, 7: 4, 10: 0, 11: 1, 12: 1, 13: 3, 14: 3, 15: 3, 17: 2, 18: 2,
}  # fmt: skip
CITYSCAPES_TRAIN_ID_TO_ROBOT9_LUT = make_lut(
    {**CITYSCAPES_TRAIN_ID_TO_ROBOT9, 255: IGNORE_LABEL}, 256, default=IGNORE_LABEL
)
ROBOTCAR_SIZES = {"train": 894, "val": 271}  # docs/methods/datasets.md §10

ROBOTCAR_SPLITS = {
    "train": FlatSplit("Oxford_Robot_ICCV19/train", None, ".png"),
    "val": FlatSplit("Oxford_Robot_ICCV19/val", "Oxford_Robot_ICCV19/anno_trainid", ".png"),
}
ROBOTCAR_LAYOUT = DatasetLayout(
    tree="""\
  Oxford_Robot_ICCV19/
    train/*.png          (unlabeled target images)
    val/*.png
    anno/*.png           (raw: RGBA, class in channel 0)
    anno_trainid/*.png   (prepared)
  cityscapes/gtFine_robot9/{train,val}/<city>/<stem>_gtFine_labelTrainIds.png   (prepared)""",
    how_to=(
        "Download Oxford_Robot_ICCV19 (Tsai et al., ICCV 2019, NEC Labs adapt-seg page), "
        "extract it into $DETECTRON2_DATASETS, then run `python datasets/prepare_robotcar.py` (add "
        "--cityscapes for the relabelled Cityscapes source). See datasets/README.md."
    ),
)


def load_cityscapes_robot9(root: str, split: str, name: str) -> List[dict]:
    """Cityscapes ``split`` with the labels of ``cityscapes/gtFine_robot9/<split>``."""
    dicts = load_cityscapes_sem_seg(root, split, name)
    label_root = os.path.join(root, "cityscapes", "gtFine_robot9", split)
    ROBOTCAR_LAYOUT.require(name, [label_root])
    for d in dicts:
        city = os.path.basename(os.path.dirname(d["file_name"]))
        d["sem_seg_file_name"] = os.path.join(
            label_root, city, os.path.basename(d["sem_seg_file_name"])
        )
    missing = [d["sem_seg_file_name"] for d in dicts if not os.path.isfile(d["sem_seg_file_name"])]
    if missing:
        raise FileNotFoundError(
            f"Dataset {name!r}: {len(missing)} label(s) missing, e.g. {missing[:3]}. "
            f"{ROBOTCAR_LAYOUT.how_to}"
        )
    return dicts


def register_all_robotcar() -> List[str]:
    meta = dict(
        stuff_classes=list(ROBOTCAR_CLASSES),
        stuff_colors=ROBOTCAR_COLORS,
        ignore_label=IGNORE_LABEL,
    )
    names = register_flat_splits("robotcar_sem_seg", ROBOTCAR_SPLITS, ROBOTCAR_LAYOUT, **meta)
    for split in ("train", "val"):
        name = f"cityscapes_sem_seg_{split}_robot9"
        register_lazy(
            name,
            lambda root, s=split, n=name: load_cityscapes_robot9(root, s, n),
            evaluator_type="sem_seg",
            **meta,
        )
        names.append(name)
    return names


register_all_robotcar()
