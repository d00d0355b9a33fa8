"""hardshapes reads its root when a split is loaded, not at import: setting DETECTRON2_DATASETS
after ``import hardseg`` is honoured (as datasets/README.md says for every dataset)."""

from pathlib import Path

from detectron2.data import DatasetCatalog, MetadataCatalog

import hardseg  # noqa: F401  (registers hardshapes_* with the root of the import time)
from hardseg.data.datasets import hardshapes as hs


def test_root_set_after_import_is_used(tmp_path, monkeypatch):
    small = {"train": 2, "val": 2}
    monkeypatch.setattr(hs, "HARDSHAPES_SPLIT_SIZES", small)
    real_ensure = hs.ensure_hardshapes

    def ensure(root, domain, seed=0, profile="standard"):  # small, and never outside tmp_path
        assert Path(root) == tmp_path, f"loads from {root}, not DETECTRON2_DATASETS={tmp_path}"
        return real_ensure(root, domain, seed, split_sizes=small, profile=profile)

    monkeypatch.setattr(hs, "ensure_hardshapes", ensure)
    monkeypatch.setenv("DETECTRON2_DATASETS", str(tmp_path))
    dicts = DatasetCatalog.get("hardshapes_sem_seg_val")  # the builtin registration
    assert len(dicts) == 2
    assert all(
        d["file_name"].startswith(str(tmp_path / "hardshapes" / "images" / "val")) for d in dicts
    )
    meta = MetadataCatalog.get("hardshapes_sem_seg_val")
    assert meta.image_root == str(tmp_path / "hardshapes" / "images" / "val")
    assert meta.sem_seg_root == str(tmp_path / "hardshapes" / "labels" / "val")
