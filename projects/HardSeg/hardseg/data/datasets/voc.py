"""PASCAL VOC 2012 semantic segmentation (21 classes), the SBD-augmented ``train_aug`` set (10582)
and U2PL's semi-supervised splits. See docs/methods/datasets.md §2-§3.

Registered names (``evaluator_type="sem_seg"``, 21 classes, background 0 is a class, 255 ignore):

* ``voc_2012_sem_seg_{train,val}``: VOC ``ImageSets/Segmentation/{train,val}.txt`` (1464 / 1449).
* ``voc_2012_sem_seg_train_aug``: (SBD train ∪ SBD val ∪ VOC train) − VOC val = 10582 images.
* ``voc_2012_sem_seg_train_aug_classic_{92,183,366,732,1464}_{labeled,unlabeled}``: U2PL's
  "classic" protocol (labeled ⊂ the 1464 VOC train images, unlabeled = the rest of train_aug).
* ``voc_2012_sem_seg_train_aug_blender_{1-16,1-8,1-4,1-2}_{labeled,unlabeled}``: U2PL's "blender"
  protocol (662 / 1323 / 2646 / 5291 labeled, drawn from train_aug).

Labels (prepared by ``datasets/prepare_voc.py``, mode "L", raw files untouched): an image with VOC
ground truth (``SegmentationClass``, palette PNG read as indices: the official annotation, with its
255 void band) uses ``VOC2012/SegmentationClass_L/<id>.png``; the other train_aug images use SBD's
``cls/<id>.mat`` converted to ``VOC2012/SegmentationClassAug_L/<id>.png`` (no void band). The
prepare script writes the train_aug list to ``VOC2012/ImageSets/SegmentationAug/train_aug.txt``.
"""

import os
from typing import List, Set

from .common import (
    IGNORE_LABEL,
    DatasetLayout,
    bit_interleaved_palette,
    make_lut,
    pairs_from_ids,
    read_list,
    register_lazy,
    splits_root,
)

__all__ = [
    "VOC_CLASSES",
    "VOC_COLORS",
    "VOC_LUT",
    "VOC_SPLIT_SIZES",
    "VOC_CLASSIC_SPLITS",
    "VOC_BLENDER_SPLITS",
    "VOC_LAYOUT",
    "voc_dirs",
    "load_voc_sem_seg",
    "load_voc_subset",
    "register_all_voc",
]

# 21 classes in index order (docs/methods/datasets.md §2).
VOC_CLASSES = [
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair",
    "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
    "train", "tvmonitor",
]  # fmt: skip
# The standard VOC colour map (docs/methods/datasets.md §2, "Palette").
VOC_COLORS = bit_interleaved_palette(len(VOC_CLASSES))
# Raw values: 0..20 classes, 255 void (SegmentationClass) -- identity; SBD .mat holds 0..20 only.
# Any other value is unexpected (docs/methods/datasets.md §2).
VOC_LUT = make_lut({**{i: i for i in range(21)}, 255: IGNORE_LABEL}, 256, default=-1)
# Official sizes (docs/methods/datasets.md §2).
VOC_SPLIT_SIZES = {"train": 1464, "val": 1449, "train_aug": 10582}
# U2PL protocols: tag -> number of labeled images = folder under splits/u2pl/pascal
# (docs/methods/datasets.md §3).
VOC_CLASSIC_SPLITS = {"92": 92, "183": 183, "366": 366, "732": 732, "1464": 1464}
VOC_BLENDER_SPLITS = {"1-16": 662, "1-8": 1323, "1-4": 2646, "1-2": 5291}

VOC_LAYOUT = DatasetLayout(
    tree="""\
  VOCdevkit/VOC2012/
    JPEGImages/<id>.jpg
    SegmentationClass/<id>.png                   (raw, palette)
    ImageSets/Segmentation/{train,val}.txt       (raw)
    SegmentationClass_L/<id>.png                 (prepared: VOC ground truth as indices)
    SegmentationClassAug_L/<id>.png              (prepared: SBD-only train_aug images)
    ImageSets/SegmentationAug/train_aug.txt      (prepared: 10582 ids)
  benchmark_RELEASE/dataset/{cls/<id>.mat,train.txt,val.txt}   (raw SBD, for train_aug)""",
    how_to=(
        "Download VOCtrainval_11-May-2012.tar (PASCAL VOC 2012) and SBD's benchmark.tgz, extract "
        "both into $DETECTRON2_DATASETS, then run `python datasets/prepare_voc.py`. See "
        "datasets/README.md."
    ),
)


def voc_dirs(root: str) -> dict:
    """Absolute-or-relative paths of the VOC/SBD folders under ``root``."""
    voc = os.path.join(root, "VOCdevkit", "VOC2012")
    return {
        "voc": voc,
        "images": os.path.join(voc, "JPEGImages"),
        "raw_labels": os.path.join(voc, "SegmentationClass"),
        "lists": os.path.join(voc, "ImageSets", "Segmentation"),
        "labels": os.path.join(voc, "SegmentationClass_L"),
        "aug_labels": os.path.join(voc, "SegmentationClassAug_L"),
        "train_aug_list": os.path.join(voc, "ImageSets", "SegmentationAug", "train_aug.txt"),
        "sbd": os.path.join(root, "benchmark_RELEASE", "dataset"),
    }


def _voc_gt_ids(dirs: dict) -> Set[str]:
    """Ids with official VOC ground truth: train ∪ val lists."""
    return set(read_list(os.path.join(dirs["lists"], "train.txt"))) | set(
        read_list(os.path.join(dirs["lists"], "val.txt"))
    )


def _loader_for(root: str, name: str, ids: List[str], labeled: bool) -> List[dict]:
    dirs = voc_dirs(root)
    gt_ids = _voc_gt_ids(dirs) if labeled else set()

    def label_path(i: str) -> str:
        folder = dirs["labels"] if i in gt_ids else dirs["aug_labels"]
        return os.path.join(folder, f"{i}.png")

    return pairs_from_ids(
        name,
        ids,
        lambda i: os.path.join(dirs["images"], f"{i}.jpg"),
        label_path if labeled else None,
        VOC_LAYOUT.how_to,
    )


def load_voc_sem_seg(root: str, split: str, name: str) -> List[dict]:
    """Dicts for ``split`` in {"train", "val", "train_aug"}, in list order."""
    dirs = voc_dirs(root)
    VOC_LAYOUT.require(name, [dirs["images"], dirs["lists"]])
    if split == "train_aug":
        list_file = dirs["train_aug_list"]
        if not os.path.isfile(list_file):
            raise FileNotFoundError(
                f"Dataset {name!r}: {list_file} does not exist.\n{VOC_LAYOUT.tree}\n"
                f"{VOC_LAYOUT.how_to}"
            )
    else:
        list_file = os.path.join(dirs["lists"], f"{split}.txt")
    return _loader_for(root, name, read_list(list_file), labeled=True)


def voc_semi_list(n_labeled: int, kind: str) -> str:
    """Path of a shipped U2PL list: ``splits/u2pl/pascal/<n_labeled>/<kind>.txt``."""
    return str(splits_root() / "u2pl" / "pascal" / str(n_labeled) / f"{kind}.txt")


def load_voc_subset(root: str, list_file: str, labeled: bool, name: str) -> List[dict]:
    """Dicts for the ids of a split list, in list order; labels only if ``labeled``."""
    VOC_LAYOUT.require(name, [voc_dirs(root)["images"]])
    return _loader_for(root, name, read_list(list_file), labeled)


def register_all_voc() -> List[str]:
    """Register the names in the module docstring (no disk access); returns them."""
    meta = dict(
        stuff_classes=list(VOC_CLASSES),
        stuff_colors=VOC_COLORS,
        ignore_label=IGNORE_LABEL,
    )
    names = []
    for split in VOC_SPLIT_SIZES:
        name = f"voc_2012_sem_seg_{split}"
        register_lazy(
            name,
            lambda root, s=split, n=name: load_voc_sem_seg(root, s, n),
            evaluator_type="sem_seg",
            **meta,
        )
        names.append(name)
    for protocol, splits in [("classic", VOC_CLASSIC_SPLITS), ("blender", VOC_BLENDER_SPLITS)]:
        for tag, n in splits.items():
            for kind in ("labeled", "unlabeled"):
                name = f"voc_2012_sem_seg_train_aug_{protocol}_{tag}_{kind}"
                register_lazy(
                    name,
                    lambda root, n=n, k=kind, name=name: load_voc_subset(
                        root, voc_semi_list(n, k), k == "labeled", name
                    ),
                    **({"evaluator_type": "sem_seg"} if kind == "labeled" else {}),
                    num_labeled=n,
                    protocol=protocol,
                    split_file=f"u2pl/pascal/{n}/{kind}.txt",
                    **meta,
                )
                names.append(name)
    return names


register_all_voc()
