"""``datasets/prepare_voc.py``: PASCAL VOC 2012 + SBD -> mode-"L" index PNGs and the train_aug list.

1. ``VOC2012/SegmentationClass/<id>.png`` (palette PNG, read as indices) ->
   ``VOC2012/SegmentationClass_L/<id>.png``.
2. train_aug = (SBD train ∪ SBD val ∪ VOC train) − VOC val, written (sorted) to
   ``VOC2012/ImageSets/SegmentationAug/train_aug.txt``.
3. For the train_aug ids without VOC ground truth: SBD ``cls/<id>.mat`` (``GTcls.Segmentation``,
   read with ``scipy.io.loadmat``) -> ``VOC2012/SegmentationClassAug_L/<id>.png``.
"""

import os
from typing import List

import numpy as np
import scipy.io

from ..datasets.common import read_list
from ..datasets.voc import VOC_CLASSES, VOC_LUT, VOC_SPLIT_SIZES, load_voc_sem_seg, voc_dirs
from .cli import run_prepare
from .core import LabelJob, Summary, apply_lut, check_dataset_dicts, convert_labels, read_index_png


def read_voc_label(path: str) -> np.ndarray:
    """VOC ``SegmentationClass`` palette PNG -> (H, W) uint8 indices (0..20, 255)."""
    return apply_lut(read_index_png(path), VOC_LUT, path)


def read_sbd_label(path: str) -> np.ndarray:
    """SBD ``cls/<id>.mat`` -> (H, W) uint8 ``GTcls.Segmentation`` (0..20)."""
    mat = scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)
    if "GTcls" not in mat:
        raise KeyError(f"{path}: no 'GTcls' struct (is this an SBD cls/*.mat file?)")
    return apply_lut(np.asarray(mat["GTcls"].Segmentation), VOC_LUT, path)


def train_aug_ids(root: str) -> List[str]:
    """(SBD train ∪ SBD val ∪ VOC train) − VOC val, sorted (docs/methods/datasets.md §2)."""
    d = voc_dirs(root)
    sbd = set(read_list(os.path.join(d["sbd"], "train.txt")))
    sbd |= set(read_list(os.path.join(d["sbd"], "val.txt")))
    voc_train = set(read_list(os.path.join(d["lists"], "train.txt")))
    voc_val = set(read_list(os.path.join(d["lists"], "val.txt")))
    return sorted((sbd | voc_train) - voc_val)


def convert(args) -> List[Summary]:
    d = voc_dirs(args.root)
    jobs = [
        LabelJob(
            src=os.path.join(d["raw_labels"], f),
            dst=os.path.join(d["labels"], f),
            image=os.path.join(d["images"], f[:-4] + ".jpg"),
            key=f[:-4],
        )
        for f in (sorted(os.listdir(d["raw_labels"])) if os.path.isdir(d["raw_labels"]) else [])
        if f.endswith(".png")
    ]
    voc = convert_labels(
        "VOC SegmentationClass", jobs, read_voc_label, args.workers, args.overwrite
    )
    if not jobs:
        voc.problems.append(f"no PNG in {d['raw_labels']} (is the VOC 2012 tar extracted there?)")
    sbd = Summary("SBD -> train_aug")
    if not os.path.isdir(d["sbd"]):
        sbd.problems.append(
            f"{d['sbd']} does not exist: extract SBD's benchmark.tgz into {args.root} to prepare "
            "voc_2012_sem_seg_train_aug and the semi-supervised splits"
        )
        return [voc, sbd]
    ids = train_aug_ids(args.root)
    os.makedirs(os.path.dirname(d["train_aug_list"]), exist_ok=True)
    with open(d["train_aug_list"], "w") as f:
        f.write("\n".join(ids) + "\n")
    if len(ids) != VOC_SPLIT_SIZES["train_aug"]:
        sbd.notes.append(f"train_aug has {len(ids)} ids; the standard set has 10582")
    voc_train = set(read_list(os.path.join(d["lists"], "train.txt")))
    sbd_jobs = [
        LabelJob(
            src=os.path.join(d["sbd"], "cls", f"{i}.mat"),
            dst=os.path.join(d["aug_labels"], f"{i}.png"),
            image=os.path.join(d["images"], f"{i}.jpg"),
            key=i,
        )
        for i in ids
        if i not in voc_train
    ]
    sbd_summary = convert_labels(
        "SBD cls/*.mat -> SegmentationClassAug_L", sbd_jobs, read_sbd_label, args.workers,
        args.overwrite,
    )  # fmt: skip
    sbd_summary.notes = sbd.notes + [f"wrote {d['train_aug_list']} ({len(ids)} ids)"]
    return [voc, sbd_summary]


def check(args) -> List[Summary]:
    return [
        check_dataset_dicts(
            f"check voc_2012_sem_seg_{split}",
            lambda split=split: load_voc_sem_seg(args.root, split, f"voc_2012_sem_seg_{split}"),
            len(VOC_CLASSES),
            expected_count=n,
            strict_count=args.strict,
            workers=args.workers,
        )
        for split, n in VOC_SPLIT_SIZES.items()
    ]


def main(argv=None) -> int:
    return run_prepare(__doc__, convert, check, argv)
