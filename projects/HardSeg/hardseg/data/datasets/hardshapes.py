"""Registration of ``hardshapes``, HardSeg's embedded procedural dataset (rendered by
``hardseg/data/prepare/hardshapes.py``, which describes the data, its classes and its layout).

Registered (``DatasetCatalog`` / ``MetadataCatalog``): ``hardshapes_sem_seg_{train,val}`` and
``hardshapes_shifted_sem_seg_{train,val}``, and the same four for the "evidence" rendering profile
(``hardshapes_evidence[_shifted]_sem_seg_{train,val}``, used by ``bench/evidence.py``). Registering does not touch the disk. The dataset root
is ``$DETECTRON2_DATASETS`` (default ``datasets``) read when a split is loaded, as for every other
HardSeg dataset (``common.py``), so a change of the variable after ``import hardseg`` is honoured;
the data is generated under it on the first ``DatasetCatalog.get``.

The renderer's names (classes, colours, sizes, ``render_hardshapes_sample``, ``ensure_hardshapes``
...) are re-exported here, where existing code imports them from.
"""

import os
from pathlib import Path
from typing import List, Optional

from detectron2.data import DatasetCatalog, MetadataCatalog

from ..prepare import hardshapes as _renderer
from ..prepare.hardshapes import (  # noqa: F401  (re-exported)
    HARDSHAPES_CLASS_KINDS,
    HARDSHAPES_CLASSES,
    HARDSHAPES_COLORS,
    HARDSHAPES_DOMAINS,
    HARDSHAPES_GENERATOR_VERSION,
    HARDSHAPES_HEIGHT,
    HARDSHAPES_IGNORE_LABEL,
    HARDSHAPES_LARGE_CLASS_IDS,
    HARDSHAPES_LARGE_CLASSES,
    HARDSHAPES_PROFILES,
    HARDSHAPES_SMALL_CLASS_IDS,
    HARDSHAPES_SMALL_CLASSES,
    HARDSHAPES_SPLIT_SIZES,
    HARDSHAPES_THIN_CLASS_IDS,
    HARDSHAPES_THIN_CLASSES,
    HARDSHAPES_WIDTH,
    ensure_hardshapes,
    generate_hardshapes,
    hardshapes_dir_name,
    render_hardshapes_sample,
)
from .common import datasets_root, refresh_path_metadata

__all__ = [
    *_renderer.__all__,
    "load_hardshapes",
    "register_hardshapes",
    "register_all_hardshapes",
]


def _split_dirs(root, domain: str, split: str, profile: str = "standard"):
    domain_dir = os.path.join(os.fspath(root), hardshapes_dir_name(domain, profile))
    return os.path.join(domain_dir, "images", split), os.path.join(domain_dir, "labels", split)


def load_hardshapes(
    root, domain: str, split: str, seed: int = 0, profile: str = "standard"
) -> List[dict]:
    """Generate the data if needed and return detectron2 dataset dicts for one split, sorted."""
    domain_dir = ensure_hardshapes(root, domain, seed, profile=profile)
    img_dir, lbl_dir = domain_dir / "images" / split, domain_dir / "labels" / split
    files = sorted(p.name for p in img_dir.iterdir() if p.suffix == ".png")
    assert files, f"No hardshapes images found in {img_dir}"
    dataset_dicts = []
    for name in files:
        label_file = lbl_dir / name
        assert label_file.is_file(), f"Missing hardshapes label {label_file}"
        dataset_dicts.append(
            {
                "file_name": str(img_dir / name),
                "sem_seg_file_name": str(label_file),
                "height": HARDSHAPES_HEIGHT,
                "width": HARDSHAPES_WIDTH,
                "image_id": f"{hardshapes_dir_name(domain, profile)}_{split}_{Path(name).stem}",
            }
        )
    return dataset_dicts


def register_hardshapes(
    name: str,
    root=None,
    domain: str = "source",
    split: str = "train",
    seed: int = 0,
    profile: str = "standard",
) -> None:
    """Register one split of one domain under ``name``. Does not touch the disk.

    ``root``: the dataset root; None (the default) reads ``$DETECTRON2_DATASETS`` each time the
    split is loaded. The ``image_root`` / ``sem_seg_root`` metadata follow the root of the last
    load."""

    def load():
        current = datasets_root() if root is None else os.fspath(root)
        image_root, sem_seg_root = _split_dirs(current, domain, split, profile)
        refresh_path_metadata(name, image_root=image_root, sem_seg_root=sem_seg_root)
        return load_hardshapes(current, domain, split, seed, profile)

    DatasetCatalog.register(name, load)
    image_root, sem_seg_root = _split_dirs(
        datasets_root() if root is None else root, domain, split, profile
    )
    MetadataCatalog.get(name).set(
        stuff_classes=list(HARDSHAPES_CLASSES),
        stuff_colors=[list(c) for c in HARDSHAPES_COLORS],
        ignore_label=HARDSHAPES_IGNORE_LABEL,
        evaluator_type="sem_seg",
        domain=domain,
        profile=profile,
    )
    refresh_path_metadata(name, image_root=image_root, sem_seg_root=sem_seg_root)


def register_all_hardshapes(
    root: Optional[str] = None, prefix: str = "hardshapes", seed: int = 0, profile="standard"
) -> List[str]:
    """Register ``{prefix}[_shifted]_sem_seg_{train,val}`` (``root``: see
    :func:`register_hardshapes`); returns the registered names."""
    names = []
    for domain in HARDSHAPES_DOMAINS:
        for split in HARDSHAPES_SPLIT_SIZES:
            suffix = "_shifted" if domain == "shifted" else ""
            name = f"{prefix}{suffix}_sem_seg_{split}"
            register_hardshapes(name, root, domain, split, seed, profile)
            names.append(name)
    return names


register_all_hardshapes()
register_all_hardshapes(prefix="hardshapes_evidence", profile="evidence")
