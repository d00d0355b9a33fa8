"""Labeled / unlabeled splits of ``hardshapes_sem_seg_train`` for semi-supervised tests and demos.

``hardshapes_sem_seg_train_1-16_labeled`` holds round(400 / 16) = 25 images drawn without
replacement by ``numpy.random.default_rng(HARDSHAPES_SEMISUP_SEED)`` from the train ids (sorted
first); ``..._unlabeled`` holds the other 375, without ``sem_seg_file_name``. The split is a pure
function of the ids and the seed, so it needs no list files. Registration does not touch the disk.
"""

from typing import Dict, List, Tuple

import numpy as np

from detectron2.data import DatasetCatalog, MetadataCatalog

__all__ = [
    "HARDSHAPES_SEMISUP_SEED",
    "HARDSHAPES_SEMISUP_FRACTIONS",
    "split_ids",
    "register_hardshapes_semisup",
]

HARDSHAPES_SEMISUP_SEED = 0
# name suffix -> denominator of the labeled fraction
HARDSHAPES_SEMISUP_FRACTIONS: Dict[str, int] = {"1-16": 16, "1-8": 8}


def split_ids(ids: List[str], num_labeled: int, seed: int) -> Tuple[List[str], List[str]]:
    """(labeled, unlabeled) ids, each in sorted order: ``num_labeled`` of the sorted ``ids``
    chosen by ``default_rng(seed).permutation``."""
    ids = sorted(ids)
    if not 0 < num_labeled <= len(ids):
        raise ValueError(f"num_labeled={num_labeled} must be in [1, {len(ids)}]")
    chosen = set(np.random.default_rng(seed).permutation(len(ids))[:num_labeled].tolist())
    labeled = [i for k, i in enumerate(ids) if k in chosen]
    unlabeled = [i for k, i in enumerate(ids) if k not in chosen]
    return labeled, unlabeled


def _load(parent: str, denominator: int, seed: int, labeled: bool) -> List[dict]:
    dicts = DatasetCatalog.get(parent)
    n = max(1, int(round(len(dicts) / denominator)))
    lab, unl = split_ids([d["image_id"] for d in dicts], n, seed)
    keep = set(lab if labeled else unl)
    out = []
    for d in dicts:
        if d["image_id"] in keep:
            d = dict(d)
            if not labeled:
                d.pop("sem_seg_file_name", None)
            out.append(d)
    return out


def register_hardshapes_semisup(
    parent: str = "hardshapes_sem_seg_train", seed: int = HARDSHAPES_SEMISUP_SEED
) -> List[str]:
    """Register ``<parent>_<fraction>_{labeled,unlabeled}`` for every fraction of
    :data:`HARDSHAPES_SEMISUP_FRACTIONS`; returns the names."""
    parent_meta = MetadataCatalog.get(parent).as_dict()
    names = []
    for suffix, den in HARDSHAPES_SEMISUP_FRACTIONS.items():
        for kind in ("labeled", "unlabeled"):
            name = f"{parent}_{suffix}_{kind}"
            DatasetCatalog.register(
                name, lambda p=parent, d=den, k=kind: _load(p, d, seed, k == "labeled")
            )
            meta = {k: v for k, v in parent_meta.items() if k not in ("name", "evaluator_type")}
            if kind == "labeled":
                meta["evaluator_type"] = parent_meta.get("evaluator_type")
            MetadataCatalog.get(name).set(**meta, split_seed=seed, parent=parent)
            names.append(name)
    return names


register_hardshapes_semisup()
register_hardshapes_semisup("hardshapes_evidence_sem_seg_train")
