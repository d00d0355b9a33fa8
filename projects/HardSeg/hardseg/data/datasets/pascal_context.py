"""PASCAL Context, 59 and 60 classes, on VOC2010 images (train 4998 / val 5105).
See docs/methods/datasets.md §7.

Registered (``evaluator_type="sem_seg"``): ``pascal_context_60_sem_seg_{train,val}`` (0 =
background is a class) and ``pascal_context_59_sem_seg_{train,val}`` (background -> 255, the number
modern papers report).

Raw input: the full-vocabulary annotation ``trainval/<id>.mat`` (field ``LabelMap``, ids 0..459 of
``labels.txt``; these are the Detail API ids) from the PASCAL-Context site, and the split lists
``ImageSets/SegmentationContext/{train,val}.txt`` (as written by mmseg's converter). The 60 kept ids
map to their rank, every other id to background; ``datasets/prepare_pascal_context.py`` writes
``SegmentationClassContext60/`` and ``SegmentationClassContext59/``.
"""

import os
from typing import List

from .common import (
    IGNORE_LABEL,
    DatasetLayout,
    bit_interleaved_palette,
    make_lut,
    pairs_from_ids,
    read_list,
    register_lazy,
)

__all__ = [
    "PASCAL_CONTEXT_60_CLASSES",
    "PASCAL_CONTEXT_59_CLASSES",
    "PASCAL_CONTEXT_KEPT_IDS",
    "PASCAL_CONTEXT_60_LUT",
    "PASCAL_CONTEXT_59_LUT",
]

# The 60 full-vocabulary ids kept, sorted (mmseg tools/dataset_converters/pascal_context.py;
# docs/methods/datasets.md §7). Their rank is the 60-class index.
PASCAL_CONTEXT_KEPT_IDS = [
    0, 2, 9, 18, 19, 22, 23, 25, 31, 33, 34, 44, 45, 46, 59, 65, 68, 72, 80, 85, 98, 104, 105, 113,
    115, 144, 158, 159, 162, 187, 189, 207, 220, 232, 258, 259, 260, 284, 295, 296, 308, 324, 326,
    347, 349, 354, 355, 360, 366, 368, 397, 415, 416, 420, 424, 427, 440, 445, 454, 458,
]  # fmt: skip
# 60-class order = alphabetical, index 0 = background (docs/methods/datasets.md §7).
PASCAL_CONTEXT_60_CLASSES = [
    "background", "aeroplane", "bag", "bed", "bedclothes", "bench", "bicycle", "bird", "boat",
    "book", "bottle", "building", "bus", "cabinet", "car", "cat", "ceiling", "chair", "cloth",
    "computer", "cow", "cup", "curtain", "dog", "door", "fence", "floor", "flower", "food", "grass",
    "ground", "horse", "keyboard", "light", "motorbike", "mountain", "mouse", "person", "plate",
    "platform", "pottedplant", "road", "rock", "sheep", "shelves", "sidewalk", "sign", "sky",
    "snow", "sofa", "table", "track", "train", "tree", "truck", "tvmonitor", "wall", "water",
    "window", "wood",
]  # fmt: skip
# 59-class version: the same without background, shifted by -1 (docs/methods/datasets.md §7).
PASCAL_CONTEXT_59_CLASSES = PASCAL_CONTEXT_60_CLASSES[1:]
assert len(PASCAL_CONTEXT_KEPT_IDS) == len(PASCAL_CONTEXT_60_CLASSES) == 60

# Full-vocabulary ids are 0..459 (labels.txt); ids not kept become background. > 459 unexpected.
_FULL_IDS = 460
PASCAL_CONTEXT_60_LUT = make_lut(
    {i: 0 for i in range(_FULL_IDS)} | {k: r for r, k in enumerate(PASCAL_CONTEXT_KEPT_IDS)},
    _FULL_IDS,
)
PASCAL_CONTEXT_59_LUT = make_lut(
    {i: IGNORE_LABEL for i in range(_FULL_IDS)}
    | {k: r - 1 for r, k in enumerate(PASCAL_CONTEXT_KEPT_IDS) if r > 0},
    _FULL_IDS,
)
PASCAL_CONTEXT_SPLIT_SIZES = {"train": 4998, "val": 5105}
PASCAL_CONTEXT_VARIANTS = {60: PASCAL_CONTEXT_60_CLASSES, 59: PASCAL_CONTEXT_59_CLASSES}

PASCAL_CONTEXT_LAYOUT = DatasetLayout(
    tree="""\
  VOCdevkit/VOC2010/
    JPEGImages/<id>.jpg
    trainval/<id>.mat                                 (raw, LabelMap: 459-class ids)
    ImageSets/SegmentationContext/{train,val}.txt
    SegmentationClassContext{60,59}/<id>.png          (prepared)""",
    how_to=(
        "Download VOCtrainval_03-May-2010.tar (PASCAL VOC 2010) and trainval.tar.gz "
        "(PASCAL-Context full annotation), extract them into "
        "$DETECTRON2_DATASETS/VOCdevkit/VOC2010 (trainval/ next to JPEGImages/), put the train/val id lists in ImageSets/SegmentationContext/, then "
        "run `python datasets/prepare_pascal_context.py`. See datasets/README.md."
    ),
)


def pascal_context_dirs(root: str) -> dict:
    voc = os.path.join(root, "VOCdevkit", "VOC2010")
    return {
        "images": os.path.join(voc, "JPEGImages"),
        "raw": os.path.join(voc, "trainval"),
        "lists": os.path.join(voc, "ImageSets", "SegmentationContext"),
        60: os.path.join(voc, "SegmentationClassContext60"),
        59: os.path.join(voc, "SegmentationClassContext59"),
    }


def load_pascal_context(root: str, split: str, num_classes: int, name: str) -> List[dict]:
    dirs = pascal_context_dirs(root)
    PASCAL_CONTEXT_LAYOUT.require(name, [dirs["images"], dirs["lists"], dirs[num_classes]])
    return pairs_from_ids(
        name,
        read_list(os.path.join(dirs["lists"], f"{split}.txt")),
        lambda i: os.path.join(dirs["images"], f"{i}.jpg"),
        lambda i: os.path.join(dirs[num_classes], f"{i}.png"),
        PASCAL_CONTEXT_LAYOUT.how_to,
    )


def register_all_pascal_context() -> List[str]:
    names = []
    for k, classes in PASCAL_CONTEXT_VARIANTS.items():
        for split in PASCAL_CONTEXT_SPLIT_SIZES:
            name = f"pascal_context_{k}_sem_seg_{split}"
            register_lazy(
                name,
                lambda root, s=split, k=k, n=name: load_pascal_context(root, s, k, n),
                stuff_classes=list(classes),
                stuff_colors=bit_interleaved_palette(len(classes)),  # not an official palette
                ignore_label=IGNORE_LABEL,
                evaluator_type="sem_seg",
            )
            names.append(name)
    return names


register_all_pascal_context()
