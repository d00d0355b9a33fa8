"""Helpers for the prepare -> register -> load -> evaluate tests on miniature fake datasets."""

import hashlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from detectron2.data import DatasetCatalog

from hardseg.evaluation import build_sem_seg_evaluator


def write_rgb(path, h, w, ext_format=None):
    """A random RGB image of (h, w) (PNG or JPEG by extension)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(abs(hash(path.name)) % 2**32)
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
    return path


def write_gray(path, array, mode="L"):
    """Save a (H, W) array as a single-channel PNG (mode "L"), or as a palette PNG ("P") with a
    colour map whose luminance differs from the indices (so a convert("L") would be caught)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(np.asarray(array, np.uint8), mode="L")
    if mode == "P":
        img = Image.fromarray(np.asarray(array, np.uint8), mode="P")
        pal = np.random.default_rng(0).integers(0, 256, (256, 3), dtype=np.uint8)
        img.putpalette(pal.flatten().tolist())
    img.save(path)
    return path


def read_label(path):
    """(mode, (H, W) array) of a prepared label."""
    with Image.open(path) as img:
        return img.mode, np.array(img)


def tree_digest(folder):
    """sha1 over every file (path and bytes) under ``folder``: raw files must not change."""
    h = hashlib.sha1()
    for p in sorted(Path(folder).rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def run(main, root, *args, workers=1):
    """Run a prepare module's ``main`` on ``root``; returns its exit status."""
    return main(["--root", str(root), "--workers", str(workers), *map(str, args)])


def evaluate(dataset_name, predictions, num_classes):
    """Run the evaluator built for ``dataset_name`` on ``predictions``: ``{file_name: (H, W)
    int array of predicted classes}`` for every dict of the dataset; returns ``results["sem_seg"]``.
    """
    evaluator = build_sem_seg_evaluator(dataset_name)
    evaluator.reset()
    for d in DatasetCatalog.get(dataset_name):
        pred = torch.as_tensor(predictions[d["file_name"]], dtype=torch.int64)
        logits = torch.nn.functional.one_hot(pred, num_classes).permute(2, 0, 1).float()
        evaluator.process([{"file_name": d["file_name"]}], [{"sem_seg": logits}])
    return evaluator.evaluate()["sem_seg"]
