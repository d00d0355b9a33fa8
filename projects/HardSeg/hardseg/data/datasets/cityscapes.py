"""Cityscapes fine semantic segmentation (19 classes), its U2PL semi-supervised subsets, and the
id table used by ``datasets/prepare_cityscapes.py`` (and by GTA5, whose labels are Cityscapes ids).

Registered names:

* ``cityscapes_fine_sem_seg_{train,val,test}``: detectron2's builtin names and metadata
  (``evaluator_type="cityscapes_sem_seg"``, ``gt_dir``/``image_dir``) with HardSeg's loader.
* ``cityscapes_sem_seg_train_{1-16,1-8,1-4,1-2}_{labeled,unlabeled}``: U2PL's subsets of the 2975
  train images (186 / 372 / 744 / 1488 labeled), ``evaluator_type="sem_seg"``; unlabeled dicts
  have no ``sem_seg_file_name``.

Labels are the mode-"L" trainId PNGs that ``prepare_cityscapes.py`` writes to
``cityscapes/gtFine_trainIds/<split>/<city>/<stem>_gtFine_labelTrainIds.png`` (from the raw
``*_gtFine_labelIds.png``; raw files untouched). If that folder does not exist, the loader uses the
``*_gtFine_labelTrainIds.png`` written next to the raw files by cityscapesscripts'
``csCreateTrainIdLabelImgs``: the two are identical, because both the labelIds and the trainIds
images are rendered from the same polygons in the same order, and trainId is a function of labelId
(``CITYSCAPES_LABEL_ID_TO_TRAIN_ID``; license plates, id -1, are skipped by both renderings).
"""

import os
from typing import List

from PIL import Image

from detectron2.data import MetadataCatalog

from .common import (
    IGNORE_LABEL,
    DatasetLayout,
    make_lut,
    read_list,
    refresh_path_metadata,
    register_lazy,
    splits_root,
)

__all__ = [
    "CITYSCAPES_CLASSES",
    "CITYSCAPES_COLORS",
    "CITYSCAPES_LABEL_ID_TO_TRAIN_ID",
    "CITYSCAPES_LABEL_ID_LUT",
    "CITYSCAPES_SPLIT_SIZES",
    "CITYSCAPES_SEMI_SPLITS",
    "CITYSCAPES_LAYOUT",
    "load_cityscapes_sem_seg",
    "load_cityscapes_subset",
    "register_all_cityscapes",
]

# 19 trainId classes, in trainId order (cityscapesscripts helpers/labels.py;
# docs/methods/datasets.md §1).
CITYSCAPES_CLASSES = [
    "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign",
    "vegetation", "terrain", "sky", "person", "rider", "car", "truck", "bus", "train",
    "motorcycle", "bicycle",
]  # fmt: skip
# Colours of the 19 classes (cityscapesscripts helpers/labels.py;
# docs/methods/datasets.md §1 table).
CITYSCAPES_COLORS = [
    (128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153),
    (153, 153, 153), (250, 170, 30), (220, 220, 0), (107, 142, 35), (152, 251, 152),
    (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100),
    (0, 80, 100), (0, 0, 230), (119, 11, 32),
]  # fmt: skip
# labelId -> trainId for the 19 evaluated classes; every other id in 0..33 -> 255
# (cityscapesscripts helpers/labels.py; docs/methods/datasets.md §1 "id2train").
CITYSCAPES_LABEL_ID_TO_TRAIN_ID = {
    7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11, 25: 12,
    26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18,
}  # fmt: skip
# 34 raw ids (0..33) exist; larger values are reported as unexpected by the prepare scripts.
CITYSCAPES_LABEL_ID_LUT = make_lut(CITYSCAPES_LABEL_ID_TO_TRAIN_ID, 34, default=IGNORE_LABEL)
# Official split sizes (docs/methods/datasets.md §1).
CITYSCAPES_SPLIT_SIZES = {"train": 2975, "val": 500, "test": 1525}
# U2PL subsets: fraction tag -> number of labeled images = folder under splits/u2pl/cityscapes
# (docs/methods/datasets.md §3 table).
CITYSCAPES_SEMI_SPLITS = {"1-16": 186, "1-8": 372, "1-4": 744, "1-2": 1488}

CITYSCAPES_LAYOUT = DatasetLayout(
    tree="""\
  cityscapes/
    leftImg8bit/{train,val,test}/<city>/<stem>_leftImg8bit.png
    gtFine/{train,val,test}/<city>/<stem>_gtFine_{labelIds,instanceIds}.png   (raw, for evaluation)
    gtFine_trainIds/{train,val,test}/<city>/<stem>_gtFine_labelTrainIds.png   (prepared)""",
    how_to=(
        "Download gtFine_trainvaltest.zip and leftImg8bit_trainvaltest.zip from the Cityscapes "
        "website, unzip them into $DETECTRON2_DATASETS/cityscapes, then run "
        "`python datasets/prepare_cityscapes.py` (or cityscapesscripts' "
        "`CITYSCAPES_DATASET=$DETECTRON2_DATASETS/cityscapes csCreateTrainIdLabelImgs`, whose "
        "labelTrainIds next to the raw files are used when gtFine_trainIds/ is absent). "
        "See datasets/README.md."
    ),
)
_SUFFIX_IMAGE = "_leftImg8bit.png"
_SUFFIX_LABEL = "_gtFine_labelTrainIds.png"


def _label_root(root: str, split: str) -> str:
    """``gtFine_trainIds/<split>`` if prepared, else the raw ``gtFine/<split>``."""
    prepared = os.path.join(root, "cityscapes", "gtFine_trainIds", split)
    return (
        prepared if os.path.isdir(prepared) else os.path.join(root, "cityscapes", "gtFine", split)
    )


def _label_file(label_root: str, city: str, stem: str) -> str:
    return os.path.join(label_root, city, stem + _SUFFIX_LABEL)


def load_cityscapes_sem_seg(root: str, split: str, name: str = None) -> List[dict]:
    """Dicts ``{file_name, sem_seg_file_name, height, width, image_id}`` for every
    ``leftImg8bit/<split>/<city>/*_leftImg8bit.png`` under ``<root>/cityscapes``, sorted.
    ``height``/``width`` come from the image header. Raises FileNotFoundError naming the missing
    folders or labels, the expected tree and the prepare command."""
    name = name or f"cityscapes_fine_sem_seg_{split}"
    image_dir = os.path.join(root, "cityscapes", "leftImg8bit", split)
    label_root = _label_root(root, split)
    CITYSCAPES_LAYOUT.require(name, [image_dir, label_root])
    dicts, missing = [], []
    for city in sorted(os.listdir(image_dir)):
        for file in sorted(os.listdir(os.path.join(image_dir, city))):
            if not file.endswith(_SUFFIX_IMAGE):
                continue
            stem = file[: -len(_SUFFIX_IMAGE)]
            image, label = os.path.join(image_dir, city, file), _label_file(label_root, city, stem)
            if not os.path.isfile(label):
                missing.append(label)
                continue
            with Image.open(image) as img:
                width, height = img.size
            dicts.append(
                {
                    "file_name": image,
                    "sem_seg_file_name": label,
                    "height": height,
                    "width": width,
                    "image_id": stem,
                }
            )
    if missing:
        raise FileNotFoundError(
            f"Dataset {name!r}: {len(missing)} trainId label(s) missing, e.g. {missing[:3]}. "
            f"{CITYSCAPES_LAYOUT.how_to}"
        )
    return dicts


def _image_stem(line: str) -> str:
    """``leftImg8bit/train/<city>/<stem>_leftImg8bit.png`` (U2PL list line) -> ``<stem>``."""
    base = os.path.basename(line)
    if not base.endswith(_SUFFIX_IMAGE):
        raise ValueError(f"Cityscapes split line {line!r} does not end with {_SUFFIX_IMAGE}")
    return base[: -len(_SUFFIX_IMAGE)]


def load_cityscapes_subset(root: str, list_file: str, labeled: bool, name: str) -> List[dict]:
    """Dicts for the images of a split list (lines ``leftImg8bit/train/<city>/<file>``, relative
    to ``<root>/cityscapes``), in list order; ``sem_seg_file_name`` only if ``labeled``."""
    lines = read_list(list_file)
    label_root = _label_root(root, "train")
    CITYSCAPES_LAYOUT.require(name, [os.path.join(root, "cityscapes", "leftImg8bit", "train")])
    if labeled:
        CITYSCAPES_LAYOUT.require(name, [label_root])
    dicts, missing = [], []
    for line in lines:
        stem = _image_stem(line)
        d = {"file_name": os.path.join(root, "cityscapes", line), "image_id": stem}
        if labeled:
            d["sem_seg_file_name"] = _label_file(label_root, line.split("/")[-2], stem)
        missing += [d[k] for k in ("file_name", "sem_seg_file_name") if k in d]
        dicts.append(d)
    missing = [p for p in missing if not os.path.isfile(p)]
    if missing:
        raise FileNotFoundError(
            f"Dataset {name!r}: {len(missing)} file(s) of {list_file} are missing, e.g. "
            f"{missing[:3]}. {CITYSCAPES_LAYOUT.how_to}"
        )
    return dicts


def _builtin_loader(name: str, split: str):
    def load(root: str) -> List[dict]:
        refresh_path_metadata(
            name,
            image_dir=os.path.join(root, "cityscapes", "leftImg8bit", split),
            gt_dir=os.path.join(root, "cityscapes", "gtFine", split),
        )
        return load_cityscapes_sem_seg(root, split, name)

    return load


def cityscapes_semi_list(fraction: str, kind: str) -> str:
    """Path of a shipped U2PL list: ``splits/u2pl/cityscapes/<n_labeled>/<kind>.txt``."""
    n = CITYSCAPES_SEMI_SPLITS[fraction]
    return str(splits_root() / "u2pl" / "cityscapes" / str(n) / f"{kind}.txt")


def register_all_cityscapes() -> List[str]:
    """Register the names in the module docstring (no disk access); returns them."""
    names = []
    for split in CITYSCAPES_SPLIT_SIZES:
        name = f"cityscapes_fine_sem_seg_{split}"
        # keeps detectron2's metadata (evaluator_type, gt_dir, stuff_classes...), adds the rest
        register_lazy(name, _builtin_loader(name, split), replace=True)
        MetadataCatalog.get(name).set(stuff_colors=[list(c) for c in CITYSCAPES_COLORS])
        names.append(name)
    for fraction, n in CITYSCAPES_SEMI_SPLITS.items():
        for kind in ("labeled", "unlabeled"):
            name = f"cityscapes_sem_seg_train_{fraction}_{kind}"
            register_lazy(
                name,
                lambda root, f=fraction, k=kind, name=name: load_cityscapes_subset(
                    root, cityscapes_semi_list(f, k), k == "labeled", name
                ),
                stuff_classes=list(CITYSCAPES_CLASSES),
                stuff_colors=[list(c) for c in CITYSCAPES_COLORS],
                ignore_label=IGNORE_LABEL,
                **({"evaluator_type": "sem_seg"} if kind == "labeled" else {}),
                num_labeled=n,
                split_file=f"u2pl/cityscapes/{n}/{kind}.txt",
            )
            names.append(name)
    return names


register_all_cityscapes()
