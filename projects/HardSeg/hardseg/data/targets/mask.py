"""Mask-classification targets from a semantic label map (one binary mask per class)."""

from typing import Tuple

import torch

from detectron2.structures import Instances

__all__ = ["SemanticMaskTargets", "semantic_mask_targets"]


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


class SemanticMaskTargets:
    """Target generator: label map (H, W) int64 -> ``{"instances": Instances}`` of size (H, W)
    with ``gt_classes`` (K',) int64 and ``gt_masks`` (K', H, W) bool
    (:func:`semantic_mask_targets`)."""

    def __init__(self, ignore_value: int = 255):
        self.ignore_value = ignore_value

    def __call__(self, sem_seg: torch.Tensor) -> dict:
        classes, masks = semantic_mask_targets(sem_seg, self.ignore_value)
        instances = Instances(tuple(sem_seg.shape[-2:]))
        instances.gt_classes = classes
        instances.gt_masks = masks
        return {"instances": instances}

    def __repr__(self):
        return f"SemanticMaskTargets(ignore_value={self.ignore_value})"
