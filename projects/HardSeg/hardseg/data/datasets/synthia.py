"""SYNTHIA-RAND-CITYSCAPES, 9400 synthetic frames mapped to the 19 Cityscapes classes (16 occur).
See docs/methods/datasets.md §9.

Registered:

* ``synthia_sem_seg_train``: 19 Cityscapes classes, ``eval_classes`` = the 16 present ones.
* ``cityscapes_sem_seg_val_synthia16`` / ``cityscapes_sem_seg_val_synthia13``: the Cityscapes val
  images and trainId labels, ``evaluator_type="sem_seg"``, with ``eval_classes`` = the 16 / 13
  classes of the SYNTHIA -> Cityscapes benchmark (mIoU-16 / mIoU-13 averaged over exactly these).

``eval_classes`` (metadata contract with the evaluator): list of contiguous class ids over which
mean metrics (mIoU, mAcc) are averaged; absent means all classes.

Raw labels ``RAND_CITYSCAPES/GT/LABELS/*.png`` are 16-bit multi-channel PNGs with the class in the
R channel (docs/methods/datasets.md §9); ``datasets/prepare_synthia.py``
writes ``GT/LABELS_trainid/``.
"""

from typing import List

from .cityscapes import CITYSCAPES_CLASSES, CITYSCAPES_COLORS, load_cityscapes_sem_seg
from .common import IGNORE_LABEL, DatasetLayout, FlatSplit, make_lut, register_flat_splits
from .common import register_lazy

__all__ = [
    "SYNTHIA_ID_TO_TRAIN_ID",
    "SYNTHIA_LUT",
    "SYNTHIA_EVAL_CLASSES_16",
    "SYNTHIA_EVAL_CLASSES_13",
    "SYNTHIA_SPLIT",
    "SYNTHIA_LAYOUT",
]

# SYNTHIA class id -> Cityscapes trainId (docs/methods/datasets.md §9); 0 void, 13 parking-slot, 14
# road-work and 22 lanemarking -> 255. Ids 0..22 exist; larger values are unexpected.
SYNTHIA_ID_TO_TRAIN_ID = {
    3: 0, 4: 1, 2: 2, 21: 3, 5: 4, 7: 5, 15: 6, 9: 7, 6: 8, 16: 9, 1: 10, 10: 11, 17: 12, 8: 13,
    18: 14, 19: 15, 20: 16, 12: 17, 11: 18,
}  # fmt: skip
SYNTHIA_LUT = make_lut(SYNTHIA_ID_TO_TRAIN_ID, 23, default=IGNORE_LABEL)
# mIoU-16: the 19 classes minus terrain 9, truck 14, train 16; mIoU-13: minus also wall 3,
# fence 4, pole 5 (docs/methods/datasets.md §9).
SYNTHIA_EVAL_CLASSES_16 = [c for c in range(19) if c not in (9, 14, 16)]
SYNTHIA_EVAL_CLASSES_13 = [c for c in SYNTHIA_EVAL_CLASSES_16 if c not in (3, 4, 5)]
SYNTHIA_SIZE = 9400  # docs/methods/datasets.md §9

SYNTHIA_SPLIT = FlatSplit("RAND_CITYSCAPES/RGB", "RAND_CITYSCAPES/GT/LABELS_trainid", ".png")
SYNTHIA_LAYOUT = DatasetLayout(
    tree="""\
  RAND_CITYSCAPES/
    RGB/NNNNNNN.png
    GT/LABELS/NNNNNNN.png             (raw: 16-bit, class id in the R channel)
    GT/LABELS_trainid/NNNNNNN.png     (prepared)""",
    how_to=(
        "Download SYNTHIA-RAND-CITYSCAPES (synthia-dataset.net), extract it into "
        "$DETECTRON2_DATASETS (RAND_CITYSCAPES/), then run `python datasets/prepare_synthia.py`. "
        "See datasets/README.md."
    ),
)


def register_all_synthia() -> List[str]:
    meta = dict(
        stuff_classes=list(CITYSCAPES_CLASSES),
        stuff_colors=[list(c) for c in CITYSCAPES_COLORS],
        ignore_label=IGNORE_LABEL,
    )
    names = register_flat_splits(
        "synthia_sem_seg",
        {"train": SYNTHIA_SPLIT},
        SYNTHIA_LAYOUT,
        eval_classes=list(SYNTHIA_EVAL_CLASSES_16),
        **meta,
    )
    for tag, classes in [("16", SYNTHIA_EVAL_CLASSES_16), ("13", SYNTHIA_EVAL_CLASSES_13)]:
        name = f"cityscapes_sem_seg_val_synthia{tag}"
        register_lazy(
            name,
            lambda root, n=name: load_cityscapes_sem_seg(root, "val", n),
            evaluator_type="sem_seg",
            eval_classes=list(classes),
            **meta,
        )
        names.append(name)
    return names


register_all_synthia()
