"""GTA5 (Playing for Data), 24966 synthetic frames with Cityscapes labelIds. See
docs/methods/datasets.md §8.

Registered: ``gta5_sem_seg_train`` (19 Cityscapes classes, ``evaluator_type="sem_seg"``); the
GTA5 -> Cityscapes benchmark evaluates on ``cityscapes_fine_sem_seg_val`` over all 19 classes.

Raw labels ``GTA5/labels/NNNNN.png`` are palette PNGs whose indices are Cityscapes labelIds (read as
indices, never ``convert("L")``). ``datasets/prepare_gta5.py`` maps them with
``CITYSCAPES_LABEL_ID_LUT`` into ``GTA5/labels_trainid/`` (a separate folder, so the raw folder
never holds two label files per image). A few GTA5 pairs have an image and a label of different
sizes: the prepare script writes no label for them and lists them, with the reason, in
``GTA5/labels_trainid/excluded.txt``; the loader leaves them out (one log line).
"""

from typing import List

from .cityscapes import CITYSCAPES_CLASSES, CITYSCAPES_COLORS
from .common import IGNORE_LABEL, DatasetLayout, FlatSplit, register_flat_splits

__all__ = ["GTA5_SPLIT", "GTA5_LAYOUT", "GTA5_SIZE", "GTA5_EXCLUSIONS"]

GTA5_SIZE = 24966  # docs/methods/datasets.md §8
GTA5_EXCLUSIONS = "GTA5/labels_trainid/excluded.txt"
GTA5_SPLIT = FlatSplit("GTA5/images", "GTA5/labels_trainid", ".png", exclusions=GTA5_EXCLUSIONS)
GTA5_LAYOUT = DatasetLayout(
    tree="""\
  GTA5/
    images/NNNNN.png
    labels/NNNNN.png                   (raw: palette PNG, Cityscapes labelIds)
    labels_trainid/NNNNN.png           (prepared)
    labels_trainid/excluded.txt        (prepared: pairs left out, with the reason)""",
    how_to=(
        "Download the 10 image and label parts of GTA5 (download.visinf.tu-darmstadt.de), unzip "
        "them into $DETECTRON2_DATASETS/GTA5/{images,labels}, then run "
        "`python datasets/prepare_gta5.py`. See datasets/README.md."
    ),
)


def register_all_gta5() -> List[str]:
    return register_flat_splits(
        "gta5_sem_seg",
        {"train": GTA5_SPLIT},
        GTA5_LAYOUT,
        stuff_classes=list(CITYSCAPES_CLASSES),
        stuff_colors=[list(c) for c in CITYSCAPES_COLORS],
        ignore_label=IGNORE_LABEL,
    )


register_all_gta5()
