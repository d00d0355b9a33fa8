"""Synthetic mapper-style batches, for tests and benchmarks."""

from typing import List, Optional

import torch

__all__ = ["random_batch"]


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
