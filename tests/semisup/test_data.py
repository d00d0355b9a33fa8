"""The hardshapes labeled/unlabeled split and the two-stream training loader."""

import numpy as np
import pytest

from detectron2.data import DatasetCatalog, MetadataCatalog

from hardseg.data.datasets.hardshapes_semisup import split_ids
from hardseg.data.semisup_loader import build_semisup_train_loader
from tests.common import tiny_cfg

LABELED, UNLABELED = (
    "hardshapes_sem_seg_train_1-16_labeled",
    "hardshapes_sem_seg_train_1-16_unlabeled",
)


def test_split_ids_is_seeded_and_sorted():
    ids = [f"id{i:03d}" for i in range(40)][::-1]
    lab, unl = split_ids(ids, 5, seed=7)
    chosen = np.random.default_rng(7).permutation(40)[:5]
    assert lab == sorted(f"id{i:03d}" for i in chosen)
    assert sorted(lab + unl) == sorted(ids) and not set(lab) & set(unl)
    assert split_ids(list(reversed(ids)), 5, seed=7) == (lab, unl)  # input order does not matter
    with pytest.raises(ValueError):
        split_ids(ids, 0, seed=0)


def test_hardshapes_1_16_split():
    parent = DatasetCatalog.get("hardshapes_sem_seg_train")
    lab, unl = DatasetCatalog.get(LABELED), DatasetCatalog.get(UNLABELED)
    assert (len(lab), len(unl)) == (25, 375)  # round(400 / 16)
    ids_l, ids_u = {d["image_id"] for d in lab}, {d["image_id"] for d in unl}
    assert not ids_l & ids_u and ids_l | ids_u == {d["image_id"] for d in parent}
    assert all("sem_seg_file_name" in d for d in lab)
    assert not any("sem_seg_file_name" in d for d in unl)
    assert (
        MetadataCatalog.get(LABELED).stuff_classes
        == MetadataCatalog.get("hardshapes_sem_seg_train").stuff_classes
    )
    assert MetadataCatalog.get(UNLABELED).get("evaluator_type") is None


def test_two_stream_loader_yields_both_batches():
    cfg = tiny_cfg(
        "DATASETS.TRAIN", (LABELED,),
        "DATASETS.TRAIN_UNLABELED", (UNLABELED,),
        "SOLVER.IMS_PER_BATCH_UNLABELED", 3,
    )  # fmt: skip
    batch = next(iter(build_semisup_train_loader(cfg)))
    assert set(batch) == {"labeled", "unlabeled"}
    assert len(batch["labeled"]) == 2 and len(batch["unlabeled"]) == 3
    for d in batch["labeled"]:
        assert d["image"].shape == (3, 64, 64) and d["sem_seg"].shape == (64, 64)
    labeled_files = {d["file_name"] for d in DatasetCatalog.get(LABELED)}
    assert {d["file_name"] for d in batch["labeled"]} <= labeled_files
    for d in batch["unlabeled"]:
        assert d["image"].shape == (3, 64, 64) and "sem_seg" not in d
        assert d["file_name"] not in labeled_files
    with pytest.raises(ValueError, match="DATASETS.TRAIN_UNLABELED"):
        build_semisup_train_loader(tiny_cfg())
