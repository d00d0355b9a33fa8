"""One round's pseudo-labels on disk (docs/methods/hiast.md §4): ``<dir>/labels/<image stem>.png``
(uint8, the image's size, 255 = no label) and ``<dir>/stats.json`` (which dataset, how many
images, the IAS thresholds and the statistics HPLA reads). Written by
tools/generate_pseudo_labels.py; read by the HIAST training mapper."""

import io
import json
import os
from typing import Dict, List

import numpy as np
from PIL import Image

from ..checkpoint import atomic_write

__all__ = [
    "STATS_FILE",
    "label_path",
    "write_label_png",
    "write_stats",
    "load_stats",
]

STATS_FILE = "stats.json"
LABEL_DIR = "labels"


def label_path(pseudo_dir: str, image_file: str) -> str:
    """The pseudo-label PNG of ``image_file`` in ``pseudo_dir``."""
    stem = os.path.splitext(os.path.basename(image_file))[0]
    return os.path.join(pseudo_dir, LABEL_DIR, stem + ".png")


def write_label_png(path: str, label: np.ndarray) -> None:
    """Atomically write a (H, W) uint8 label PNG."""

    def write(f):
        buf = io.BytesIO()
        Image.fromarray(np.asarray(label, dtype=np.uint8), mode="L").save(buf, format="PNG")
        f.write(buf.getvalue())

    atomic_write(path, write)


def write_stats(pseudo_dir: str, stats: dict) -> None:
    """Atomically write ``<pseudo_dir>/stats.json``."""
    data = json.dumps(stats, indent=1, sort_keys=True).encode()
    atomic_write(os.path.join(pseudo_dir, STATS_FILE), lambda f: f.write(data))


def load_stats(pseudo_dir: str, dataset_name: str, dataset_dicts: List[Dict], num_classes: int):
    """``<pseudo_dir>/stats.json``, checked against the dataset it is used with.

    Raises:
        FileNotFoundError: no directory or no stats file (the path and the tool to run).
        ValueError: the labels were made for another dataset, number of images or classes.
    """
    path = os.path.join(pseudo_dir, STATS_FILE)
    if not pseudo_dir or not os.path.isfile(path):
        raise FileNotFoundError(
            f"DATASETS.PSEUDO_LABEL_DIR={pseudo_dir!r}: no {STATS_FILE} at {path}; generate the "
            "round's labels with tools/generate_pseudo_labels.py first."
        )
    with open(path) as f:
        stats = json.load(f)
    if stats.get("dataset") != dataset_name:
        raise ValueError(
            f"{path}: pseudo-labels of dataset {stats.get('dataset')!r}, but DATASETS.TRAIN is "
            f"{dataset_name!r}; point DATASETS.PSEUDO_LABEL_DIR at labels made for it."
        )
    if stats.get("num_images") != len(dataset_dicts):
        raise ValueError(
            f"{path}: {stats.get('num_images')} pseudo-labelled images, but {dataset_name!r} has "
            f"{len(dataset_dicts)}; regenerate the labels."
        )
    if stats.get("num_classes") != num_classes:
        raise ValueError(
            f"{path}: labels with {stats.get('num_classes')} classes, the model has "
            f"{num_classes} (MODEL.SEM_SEG_HEAD.NUM_CLASSES)."
        )
    return stats
