"""Synthetic mapper-style batches, for tests and benchmarks."""

from typing import List, Optional, Sequence

import numpy as np
import torch

__all__ = ["random_batch", "blocky_label"]


def random_batch(
    n: int = 2,
    h: int = 64,
    w: int = 96,
    num_classes: int = 7,
    ignore: int = 255,
    seed: int = 0,
    with_labels: bool = True,
    ignored_rows: Optional[int] = None,
) -> List[dict]:
    """``n`` dicts as :class:`hardseg.data.SemanticDatasetMapper` gives them: ``image`` (3, h, w)
    uint8, ``height``/``width``, and with labels ``sem_seg`` (h, w) int64 uniform in
    [0, num_classes) whose first ``ignored_rows`` rows (default h // 8) are ``ignore``. Drawn from
    one generator seeded with ``seed``, image then label for each dict."""
    g = torch.Generator().manual_seed(seed)
    ignored_rows = h // 8 if ignored_rows is None else ignored_rows
    batch = []
    for _ in range(n):
        d = {
            "image": torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8),
            "height": h,
            "width": w,
        }
        if with_labels:
            sem_seg = torch.randint(0, num_classes, (h, w), generator=g)
            sem_seg[:ignored_rows] = ignore
            d["sem_seg"] = sem_seg
        batch.append(d)
    return batch


def blocky_label(
    h: int = 1024,
    w: int = 2048,
    num_classes: int = 19,
    ignore: int = 255,
    num_blocks: int = 60,
    seed: int = 0,
    classes: Optional[Sequence[int]] = None,
) -> np.ndarray:
    """A Cityscapes-like label map (h, w) uint8: class 0 everywhere, then ``num_blocks``
    axis-aligned blocks painted in turn, each of a class drawn uniformly from ``classes`` (default
    ``0 .. num_classes - 1`` and ``ignore``), with a random top-left corner anywhere in the map
    (blocks are clipped at the bottom/right border) and a size of ``[h // 20, h // 3)`` by
    ``[w // 20, w // 3)`` pixels. Drawn from ``np.random.default_rng(seed)``. The distance-map
    benchmark (bench/mapper_cost.py) and tests use it."""
    rng = np.random.default_rng(seed)
    values = list(range(num_classes)) + [ignore] if classes is None else list(classes)
    label = np.zeros((h, w), np.uint8)
    for _ in range(num_blocks):
        c = int(rng.choice(values))
        y, x = rng.integers(0, h), rng.integers(0, w)
        dy = rng.integers(max(h // 20, 1), max(h // 3, 2))
        dx = rng.integers(max(w // 20, 1), max(w // 3, 2))
        label[y : y + dy, x : x + dx] = c
    return label
