"""Resizing the maps U2PL compares across resolutions: logits to the image size (bilinear) and
label / mask maps to the decoder's size (nearest)."""

import torch
from torch.nn import functional as F

__all__ = ["resize_bilinear", "resize_nearest"]


def resize_bilinear(logits: torch.Tensor, size, align_corners: bool = False) -> torch.Tensor:
    """(N, K, h, w) -> (N, K, H, W), bilinear (``align_corners`` False: HardSeg's heads'
    convention; the official U2PL code uses True, ``MODEL.SEMISUP.ALIGN_CORNERS``)."""
    if tuple(logits.shape[-2:]) == tuple(size):
        return logits
    return F.interpolate(logits, size=size, mode="bilinear", align_corners=align_corners)


def resize_nearest(x: torch.Tensor, size) -> torch.Tensor:
    """(N, H, W) integer or bool map -> (N, h, w) int64, nearest (as the official code resizes
    its one-hot labels and masks)."""
    return F.interpolate(x[:, None].float(), size=size, mode="nearest")[:, 0].long()
