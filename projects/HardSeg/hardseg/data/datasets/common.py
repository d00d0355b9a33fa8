"""Helpers shared by HardSeg's dataset registrations.

Conventions (docs/methods/datasets.md §0):

* Every registered dataset reads *prepared* labels: single-channel mode-"L" PNGs holding contiguous
  train ids ``0..K-1`` and ``255`` for ignore, written by ``datasets/prepare_<name>.py`` into a
  folder of their own (the raw release is never modified).
* Registering never touches the disk. The dataset root is read from ``$DETECTRON2_DATASETS``
  (default ``datasets``) **when the dataset is loaded**, so a process (or a test) that changes the
  variable after ``import hardseg`` loads from the new root. detectron2's builtin registrations
  resolve the root once, at import; metadata keys holding paths (``gt_dir``, ``image_root``...)
  are refreshed by the loaders so that they always agree with the dicts just loaded.
* Pairs are built from explicit lists or by exact stem matching, never by position (detectron2's
  ``load_sem_seg`` zips sorted lists and silently shifts pairs when one file is missing).
* Dicts hold ``file_name``, ``sem_seg_file_name`` (absent for unlabeled sets) and ``image_id``.
  ``height``/``width`` are left out (as in detectron2's ``load_sem_seg``), except for Cityscapes:
  reading the header of every image at each load would cost seconds on COCO-Stuff's 118k images;
  the mapper checks the sizes it reads.
"""

import logging
import os
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence

import numpy as np

from detectron2.data import DatasetCatalog, MetadataCatalog

from .checks import require_dirs

__all__ = [
    "IGNORE_LABEL",
    "datasets_root",
    "splits_root",
    "read_list",
    "make_lut",
    "bit_interleaved_palette",
    "register_lazy",
    "refresh_path_metadata",
    "pairs_by_stem",
    "pairs_from_ids",
    "read_exclusions",
    "DatasetLayout",
    "FlatSplit",
    "register_flat_splits",
]

logger = logging.getLogger(__name__)

IGNORE_LABEL = 255

# The repository root (``projects/HardSeg/hardseg/data/datasets/common.py`` -> 5 levels up), where
# the shipped split lists live (``datasets/splits``), as ``model_zoo.CONFIG_ROOT`` does for configs.
_REPO_ROOT = Path(__file__).resolve().parents[5]


def datasets_root() -> str:
    """``$DETECTRON2_DATASETS`` (``~`` expanded), default ``datasets``; read at every call."""
    return os.path.expanduser(os.getenv("DETECTRON2_DATASETS", "datasets"))


def splits_root() -> Path:
    """Folder of the shipped split lists: ``$HARDSEG_SPLITS`` if set, else
    ``<repo>/datasets/splits`` (read at every call, so tests can point it at a temporary folder)."""
    env = os.getenv("HARDSEG_SPLITS")
    return Path(os.path.expanduser(env)) if env else _REPO_ROOT / "datasets" / "splits"


def read_list(path) -> List[str]:
    """Non-empty, stripped lines of a text file (files without a final newline are fine).
    Raises FileNotFoundError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"List file {path} does not exist (see datasets/README.md).")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def make_lut(mapping: Mapping[int, int], size: int, default: int = -1) -> np.ndarray:
    """A lookup table ``raw id -> train id`` of ``size`` entries (int16).

    Raw ids absent from ``mapping`` get ``default``: ``255`` when the raw id is a legitimate value
    that is ignored, ``-1`` when it must not occur (prepare scripts report such values as problems).
    """
    lut = np.full(size, default, np.int16)
    for raw, train in mapping.items():
        lut[raw] = train
    return lut


def bit_interleaved_palette(n: int) -> List[List[int]]:
    """The PASCAL VOC colour map for indices ``0..n-1``: the bits of the index, 3 at a time, go to
    R, G, B from the most significant bit down (docs/methods/datasets.md §2: 1 -> (128, 0, 0), 2 ->
    (0, 128, 0), 15 -> (192, 128, 128), 255 -> (224, 224, 192)). Used as VOC's palette, and as a
    distinct colour map for datasets without official colours (not an
    official palette for those)."""
    colors = []
    for i in range(n):
        rgb, c = [0, 0, 0], i
        for shift in range(7, -1, -1):
            for ch in range(3):
                rgb[ch] |= ((c >> ch) & 1) << shift
            c >>= 3
        colors.append(rgb)
    return colors


def refresh_path_metadata(name: str, **paths: str) -> None:
    """Set path-valued metadata keys of ``name`` to ``paths``, replacing older values.

    detectron2's ``Metadata`` refuses to change a key once set; path keys are an exception here
    because HardSeg resolves the dataset root at load time (see the module docstring)."""
    meta = MetadataCatalog.get(name)
    for key, value in paths.items():
        if meta.get(key, None) != value:
            meta.__dict__[key] = value  # bypasses Metadata.__setattr__'s "never change" check


def register_lazy(
    name: str, load: Callable[[str], List[dict]], replace: bool = False, **metadata
) -> None:
    """Register ``name`` whose dicts are ``load(datasets_root())``, with ``metadata``.

    Nothing is read until ``DatasetCatalog.get(name)``. With ``replace``, an existing registration
    of ``name`` (e.g. a detectron2 builtin) is replaced; its metadata is kept and extended."""
    if replace and name in DatasetCatalog.list():
        DatasetCatalog.remove(name)
    DatasetCatalog.register(name, lambda: load(datasets_root()))
    MetadataCatalog.get(name).set(**metadata)


class DatasetLayout:
    """What a missing-dataset error says: the expected tree under the root and how to prepare it.

    ``tree`` is the layout relative to ``$DETECTRON2_DATASETS``; ``how_to`` names the download and
    the prepare command."""

    def __init__(self, tree: str, how_to: str):
        self.tree = tree
        self.how_to = how_to

    def require(self, dataset_name: str, dirs: Iterable[str]) -> None:
        require_dirs(dataset_name, list(dirs), self.tree, self.how_to)


def _stems(folder: str, ext: str) -> Dict[str, str]:
    return {
        entry.name[: -len(ext)]: entry.path
        for entry in os.scandir(folder)
        if entry.is_file() and entry.name.endswith(ext)
    }


def pairs_by_stem(
    dataset_name: str,
    image_dir: str,
    label_dir: str,
    image_ext: str,
    label_ext: str,
    how_to: str,
    excluded: Sequence[str] = (),
) -> List[dict]:
    """Dicts for every ``image_dir/<stem><image_ext>`` with its ``label_dir/<stem><label_ext>``.

    Both folders are flat. Every image must have a label and every label an image, except stems in
    ``excluded`` (images whose label the prepare script refused, e.g. a size mismatch), which are
    dropped with one log line. Raises ValueError listing the unmatched files otherwise."""
    images = _stems(image_dir, image_ext)
    labels = _stems(label_dir, label_ext)
    excluded = set(excluded) & set(images)
    if excluded:
        logger.info(
            f"{dataset_name}: leaving out {len(excluded)} image(s) that the prepare script "
            f"excluded (e.g. {sorted(excluded)[:3]})."
        )
    no_label = sorted(set(images) - set(labels) - excluded)
    no_image = sorted(set(labels) - set(images))
    if no_label or no_image:
        raise ValueError(
            f"Dataset {dataset_name!r}: images and labels do not match. "
            f"{len(no_label)} image(s) in {image_dir} have no label in {label_dir} "
            f"(e.g. {no_label[:3]}); {len(no_image)} label(s) have no image (e.g. {no_image[:3]}). "
            f"{how_to}"
        )
    return [
        {"file_name": images[s], "sem_seg_file_name": labels[s], "image_id": s}
        for s in sorted(images)
        if s not in excluded
    ]


def pairs_from_ids(
    dataset_name: str,
    ids: Sequence[str],
    image_path: Callable[[str], str],
    label_path: Optional[Callable[[str], str]],
    how_to: str,
) -> List[dict]:
    """Dicts for the listed ids: ``image_path(id)`` and, unless ``label_path`` is None (unlabeled
    sets), ``label_path(id)``. Raises FileNotFoundError naming the missing files."""
    dicts, missing = [], []
    for i in ids:
        d = {"file_name": image_path(i), "image_id": i}
        if label_path is not None:
            d["sem_seg_file_name"] = label_path(i)
        for key in ("file_name", "sem_seg_file_name"):
            if key in d and not os.path.isfile(d[key]):
                missing.append(d[key])
        dicts.append(d)
    if missing:
        raise FileNotFoundError(
            f"Dataset {dataset_name!r}: {len(missing)} listed file(s) do not exist, e.g. "
            f"{', '.join(missing[:3])}. {how_to}"
        )
    return dicts


def read_exclusions(path: str) -> List[str]:
    """Stems listed in an exclusion file written by a prepare script (``<stem>\\t<reason>``
    lines); an absent file means no exclusion."""
    if not os.path.isfile(path):
        return []
    return [line.split("\t", 1)[0] for line in read_list(path)]


class FlatSplit:
    """One split stored as two flat folders, paired by stem: ``image_dir/<stem><image_ext>`` and
    ``label_dir/<stem><label_ext>`` (paths relative to the dataset root).

    ``label_dir=None``: an unlabeled split (dicts without ``sem_seg_file_name``).
    ``exclusions``: a file (relative to the root) of stems the prepare script refused."""

    def __init__(
        self,
        image_dir: str,
        label_dir: Optional[str],
        image_ext: str,
        label_ext: str = ".png",
        exclusions: Optional[str] = None,
    ):
        self.image_dir, self.label_dir = image_dir, label_dir
        self.image_ext, self.label_ext = image_ext, label_ext
        self.exclusions = exclusions

    def load(self, root: str, name: str, layout: DatasetLayout) -> List[dict]:
        image_dir = os.path.join(root, self.image_dir)
        if self.label_dir is None:
            layout.require(name, [image_dir])
            return [
                {"file_name": path, "image_id": stem}
                for stem, path in sorted(_stems(image_dir, self.image_ext).items())
            ]
        label_dir = os.path.join(root, self.label_dir)
        layout.require(name, [image_dir, label_dir])
        excluded = read_exclusions(os.path.join(root, self.exclusions)) if self.exclusions else []
        return pairs_by_stem(
            name, image_dir, label_dir, self.image_ext, self.label_ext, layout.how_to, excluded
        )


def register_flat_splits(
    prefix: str,
    splits: Mapping[str, FlatSplit],
    layout: DatasetLayout,
    replace: bool = False,
    **metadata,
) -> List[str]:
    """Register ``<prefix>_<split>`` for each split (``evaluator_type="sem_seg"`` for labeled
    splits) with ``metadata``; returns the names. ``replace``: see :func:`register_lazy`; the
    ``image_root``/``sem_seg_root`` metadata then follow the root at load time."""
    names = []
    for split, spec in splits.items():
        name = f"{prefix}_{split}"
        extra = {"evaluator_type": "sem_seg"} if spec.label_dir is not None else {}

        def load(root, spec=spec, name=name):
            if replace:
                refresh_path_metadata(
                    name,
                    image_root=os.path.join(root, spec.image_dir),
                    sem_seg_root=os.path.join(root, spec.label_dir),
                )
            return spec.load(root, name, layout)

        register_lazy(name, load, replace=replace, **extra, **metadata)
        names.append(name)
    return names
