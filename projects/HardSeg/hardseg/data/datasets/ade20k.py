"""ADE20K SceneParsing (ADEChallengeData2016), 150 classes. See docs/methods/datasets.md §5.

Registered: detectron2's builtin ``ade20k_sem_seg_{train,val}`` (its metadata, including
``stuff_classes``), re-registered with a loader that pairs images and labels by stem and explains a
missing dataset. Raw labels ``annotations/{training,validation}/*.png`` hold 0 = other (ignored) and
1..150; ``datasets/prepare_ade20k.py`` writes ``annotations_detectron2/`` (value - 1, 0 -> 255), the
folder detectron2's registration reads.
"""

from typing import List

from detectron2.data import MetadataCatalog

from .common import (
    IGNORE_LABEL,
    DatasetLayout,
    FlatSplit,
    bit_interleaved_palette,
    make_lut,
    register_flat_splits,
)

__all__ = ["ADE20K_LUT", "ADE20K_SPLITS", "ADE20K_SPLIT_SIZES", "ADE20K_LAYOUT"]

# 0 -> 255, c -> c - 1 for c in 1..150; larger values are unexpected (docs/methods/datasets.md §5).
ADE20K_LUT = make_lut({0: IGNORE_LABEL, **{c: c - 1 for c in range(1, 151)}}, 151, default=-1)
# split -> folder name in the release (docs/methods/datasets.md §5)
ADE20K_SPLITS = {"train": "training", "val": "validation"}
ADE20K_SPLIT_SIZES = {"train": 20210, "val": 2000}

ADE20K_LAYOUT = DatasetLayout(
    tree="""\
  ADEChallengeData2016/
    images/{training,validation}/ADE_{train,val}_XXXXXXXX.jpg
    annotations/{training,validation}/ADE_{train,val}_XXXXXXXX.png             (raw, 0..150)
    annotations_detectron2/{training,validation}/ADE_{train,val}_XXXXXXXX.png  (prepared)""",
    how_to=(
        "Download ADEChallengeData2016.zip (MIT SceneParsing), unzip it into "
        "$DETECTRON2_DATASETS, then run `python datasets/prepare_ade20k.py`. "
        "See datasets/README.md."
    ),
)


def ade20k_split(split: str) -> FlatSplit:
    folder = ADE20K_SPLITS[split]
    return FlatSplit(
        f"ADEChallengeData2016/images/{folder}",
        f"ADEChallengeData2016/annotations_detectron2/{folder}",
        ".jpg",
    )


def register_all_ade20k() -> List[str]:
    names = register_flat_splits(
        "ade20k_sem_seg",
        {s: ade20k_split(s) for s in ADE20K_SPLITS},
        ADE20K_LAYOUT,
        replace=True,
        ignore_label=IGNORE_LABEL,
    )
    for name in names:
        # detectron2 sets no colours; a distinct, non-official colour map for visualisation
        MetadataCatalog.get(name).set(stuff_colors=bit_interleaved_palette(150))
    return names


register_all_ade20k()
