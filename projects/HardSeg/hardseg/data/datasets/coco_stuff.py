"""COCO-Stuff, 171 classes (80 things + 91 stuff): the 164k release and the 10k release.
See docs/methods/datasets.md §6.

Registered (``evaluator_type="sem_seg"``):

* ``coco_stuff_164k_sem_seg_{train,val}`` (118287 / 5000): raw ``stuffthingmaps`` PNGs hold
  COCO id - 1 (0..181) and 255 = unlabeled; prepared into ``annotations_detectron2/``.
* ``coco_2017_{train,test}_stuff_10k_sem_seg`` (9000 / 1000; the names Mask2Former uses): raw
  ``annotations/<id>.mat`` (field ``S``), version 1.1 by default (``S`` = COCO id, 0 = unlabeled)
  or 1.0 (``S`` 1-based contiguous, 1 = unlabeled); ``prepare_coco_stuff.py --version``.

Contiguous class = rank of the COCO id among the 171 used ids.
"""

import os
from typing import List

from .common import (
    IGNORE_LABEL,
    DatasetLayout,
    FlatSplit,
    bit_interleaved_palette,
    make_lut,
    pairs_from_ids,
    read_list,
    register_flat_splits,
    register_lazy,
)

__all__ = [
    "COCO_STUFF_CLASSES",
    "COCO_STUFF_IDS",
    "COCO_STUFF_164K_LUT",
    "COCO_STUFF_10K_V11_LUT",
    "COCO_STUFF_10K_V10_LUT",
    "COCO_STUFF_164K_SPLITS",
    "COCO_STUFF_10K_SPLITS",
]

# The 11 COCO thing ids that were never annotated (docs/methods/datasets.md §6).
COCO_UNUSED_IDS = {12, 26, 29, 30, 45, 66, 68, 69, 71, 83, 91}
# The 171 used COCO ids (1..182 minus the unused), in order = contiguous class order
# (docs/methods/datasets.md §6).
COCO_STUFF_IDS = [i for i in range(1, 183) if i not in COCO_UNUSED_IDS]
# Names in contiguous order (docs/methods/datasets.md §6 class table).
COCO_STUFF_CLASSES = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush", "banner", "blanket", "branch", "bridge",
    "building-other", "bush", "cabinet", "cage", "cardboard", "carpet", "ceiling-other",
    "ceiling-tile", "cloth", "clothes", "clouds", "counter", "cupboard", "curtain", "desk-stuff",
    "dirt", "door-stuff", "fence", "floor-marble", "floor-other", "floor-stone", "floor-tile",
    "floor-wood", "flower", "fog", "food-other", "fruit", "furniture-other", "grass", "gravel",
    "ground-other", "hill", "house", "leaves", "light", "mat", "metal", "mirror-stuff", "moss",
    "mountain", "mud", "napkin", "net", "paper", "pavement", "pillow", "plant-other", "plastic",
    "platform", "playingfield", "railing", "railroad", "river", "road", "rock", "roof", "rug",
    "salad", "sand", "sea", "shelf", "sky-other", "skyscraper", "snow", "solid-other", "stairs",
    "stone", "straw", "structural-other", "table", "tent", "textile-other", "towel", "tree",
    "vegetable", "wall-brick", "wall-concrete", "wall-other", "wall-panel", "wall-stone",
    "wall-tile", "wall-wood", "water-other", "waterdrops", "window-blind", "window-other", "wood",
]  # fmt: skip
assert len(COCO_STUFF_IDS) == len(COCO_STUFF_CLASSES) == 171

_RANK = {coco_id: rank for rank, coco_id in enumerate(COCO_STUFF_IDS)}
# 164k PNG value v = COCO id - 1 -> rank; 255 and the unused ids -> 255; 182..254 unexpected
# (docs/methods/datasets.md §6, mmseg coco_stuff164k.py table).
COCO_STUFF_164K_LUT = make_lut(
    {**{v: _RANK.get(v + 1, IGNORE_LABEL) for v in range(182)}, 255: IGNORE_LABEL}, 256
)
# 10k v1.1 S = COCO id (0 = unlabeled) -> rank; 0 and unused ids -> 255; > 182 unexpected
# (docs/methods/datasets.md §6).
COCO_STUFF_10K_V11_LUT = make_lut({v: _RANK.get(v, IGNORE_LABEL) for v in range(183)}, 183)
# 10k v1.0 S = 1-based contiguous (1 = unlabeled, 2..172 -> 0..170); 0 and > 172 unexpected
# (docs/methods/datasets.md §6, cocostuff10k README; MaskFormer's "S - 2").
COCO_STUFF_10K_V10_LUT = make_lut({1: IGNORE_LABEL, **{v: v - 2 for v in range(2, 173)}}, 173)

COCO_STUFF_164K_SPLITS = {"train": "train2017", "val": "val2017"}
COCO_STUFF_164K_SIZES = {"train": 118287, "val": 5000}
COCO_STUFF_10K_SPLITS = {"train": "train", "test": "test"}
COCO_STUFF_10K_SIZES = {"train": 9000, "test": 1000}

COCO_STUFF_164K_LAYOUT = DatasetLayout(
    tree="""\
  coco_stuff164k/
    images/{train2017,val2017}/<id>.jpg
    annotations/{train2017,val2017}/<id>.png              (raw stuffthingmaps: COCO id - 1, 255)
    annotations_detectron2/{train2017,val2017}/<id>.png   (prepared)""",
    how_to=(
        "Download train2017.zip, val2017.zip (COCO) and stuffthingmaps_trainval2017.zip "
        "(COCO-Stuff), unzip them into $DETECTRON2_DATASETS/coco_stuff164k/{images,annotations}, "
        "then run `python datasets/prepare_coco_stuff.py --which 164k`. See datasets/README.md."
    ),
)
COCO_STUFF_10K_LAYOUT = DatasetLayout(
    tree="""\
  coco_stuff_10k/
    images/<id>.jpg
    annotations/<id>.mat                               (raw, field S)
    imageLists/{train,test}.txt
    annotations_detectron2/{train,test}/<id>.png       (prepared)""",
    how_to=(
        "Download cocostuff-10k-v1.1.zip, unzip it into $DETECTRON2_DATASETS/coco_stuff_10k, then "
        "run `python datasets/prepare_coco_stuff.py --which 10k [--version 1.0|1.1]`. See "
        "datasets/README.md."
    ),
)


def coco_stuff_164k_split(split: str) -> FlatSplit:
    folder = COCO_STUFF_164K_SPLITS[split]
    return FlatSplit(
        f"coco_stuff164k/images/{folder}", f"coco_stuff164k/annotations_detectron2/{folder}", ".jpg"
    )


def load_coco_stuff_10k(root: str, split: str, name: str) -> List[dict]:
    base = os.path.join(root, "coco_stuff_10k")
    COCO_STUFF_10K_LAYOUT.require(name, [os.path.join(base, "images")])
    ids = read_list(os.path.join(base, "imageLists", f"{split}.txt"))
    return pairs_from_ids(
        name,
        ids,
        lambda i: os.path.join(base, "images", f"{i}.jpg"),
        lambda i: os.path.join(base, "annotations_detectron2", split, f"{i}.png"),
        COCO_STUFF_10K_LAYOUT.how_to,
    )


def register_all_coco_stuff() -> List[str]:
    meta = dict(
        stuff_classes=list(COCO_STUFF_CLASSES),
        stuff_colors=bit_interleaved_palette(171),  # distinct colours, not an official palette
        ignore_label=IGNORE_LABEL,
        stuff_dataset_id_to_contiguous_id=dict(_RANK),
    )
    names = register_flat_splits(
        "coco_stuff_164k_sem_seg",
        {s: coco_stuff_164k_split(s) for s in COCO_STUFF_164K_SPLITS},
        COCO_STUFF_164K_LAYOUT,
        **meta,
    )
    for split in COCO_STUFF_10K_SPLITS:
        name = f"coco_2017_{split}_stuff_10k_sem_seg"
        register_lazy(
            name,
            lambda root, s=split, n=name: load_coco_stuff_10k(root, s, n),
            evaluator_type="sem_seg",
            **meta,
        )
        names.append(name)
    return names


register_all_coco_stuff()
