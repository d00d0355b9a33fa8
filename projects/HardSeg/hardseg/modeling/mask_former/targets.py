"""Mask-classification targets from a semantic label map (one binary mask per class)."""

from typing import Tuple

import torch

__all__ = ["semantic_mask_targets"]


def semantic_mask_targets(
    sem_seg: torch.Tensor, ignore_value: int = 255
) -> Tuple[torch.Tensor, torch.Tensor]:
    """One binary mask per class present in a label map, the ignore value excluded.

    Args:
        sem_seg: (H, W) int64 label map.
    Returns:
        ``(classes (K',) int64 sorted, masks (K', H, W) bool)``; K' = number of classes present
        (0 when the map is all ignore). Ignored pixels are 0 in every mask.
    """
    classes = torch.unique(sem_seg)
    classes = classes[classes != ignore_value]
    masks = sem_seg[None] == classes[:, None, None]
    return classes.to(torch.int64), masks
