"""Mask losses on sampled points: per-point sigmoid BCE, (weighted) Dice, and their pairwise
(prediction x target) costs for matching.

Dimension legend: M matched (prediction, target) pairs; P points per pair; Q predictions and T
targets of one image (pairwise costs). Logits are mask logits; labels are in [0, 1].
"""

import torch
from torch.nn import functional as F

__all__ = [
    "point_bce",
    "point_dice",
    "pairwise_bce_cost",
    "pairwise_dice_cost",
    "mask_uncertainty",
]


def point_bce(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-point sigmoid cross-entropy. (M, P), (M, P) -> (M, P)."""
    return F.binary_cross_entropy_with_logits(logits, labels, reduction="none")


def point_dice(logits: torch.Tensor, labels: torch.Tensor, weights=None) -> torch.Tensor:
    """Soft Dice loss per pair, ``1 - (2 sum w p t + 1) / (sum w p + sum w t + 1)`` with
    ``p = sigmoid(logits)`` and point weights ``w`` (all ones when None, which is Mask2Former's
    Dice). (M, P), (M, P), (M, P) or None -> (M,)."""
    p = logits.sigmoid()
    if weights is None:
        weights = torch.ones_like(p)
    num = 2 * (weights * p * labels).sum(-1) + 1
    den = (weights * p).sum(-1) + (weights * labels).sum(-1) + 1
    return 1 - num / den


def pairwise_bce_cost(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean point BCE of every prediction against every target. (Q, P), (T, P) -> (Q, T)."""
    p = logits.shape[1]
    pos = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits), reduction="none")
    neg = F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits), reduction="none")
    return (pos @ labels.T + neg @ (1 - labels).T) / p


def pairwise_dice_cost(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Dice loss of every prediction against every target. (Q, P), (T, P) -> (Q, T)."""
    p = logits.sigmoid()
    num = 2 * p @ labels.T + 1
    den = p.sum(-1)[:, None] + labels.sum(-1)[None, :] + 1
    return 1 - num / den


def mask_uncertainty(logits: torch.Tensor) -> torch.Tensor:
    """PointRend's uncertainty of a binary mask logit: ``-|logit|`` (highest at 0).
    (M, 1, ...) -> same shape."""
    return -logits.abs()
