"""The HL (hardness-level) objective on a per-pixel loss map, shared by every HL branch.

See docs/methods/hl.md §4, from the official ``HLEncoderDecoder`` (mmseg). With ``z`` the HL
branch's logit at every pixel ``i`` of the per-process batch and ``l`` the per-pixel loss:

* ``h_i = sigmoid(z_i) + eps`` and ``w_i = h_i / sum_j h_j`` (one normaliser for the whole
  per-process batch, padded and ignored pixels included; no all-reduce), so ``sum_i w_i = 1`` and
  ``max w / min w <= (1 + eps) / eps`` (11 for eps = 0.1);
* ``L_seg = sum_i sg(w_i) * l_i`` replaces the head's mean loss (``sg`` = detach);
* ``L_HL = -loss_weight * sum_i w_i * sg(l_i)`` trains the HL branch to raise the weight of the
  pixels whose loss is above the current weighted mean.

Gradients: ``L_seg`` reaches the network through ``l`` only; ``L_HL`` reaches the HL branch through
``w`` only.
"""

from typing import Tuple

import torch
from ..precision import float32_island


# fp32 island: HL's normaliser (a sum over every pixel) in float32
@float32_island
def hardness_weights(hl_logits: torch.Tensor, eps: float = 0.1, mask=None) -> torch.Tensor:
    """``sigmoid(hl_logits) + eps``, divided by its sum over every element; with ``mask``, over
    the masked elements only (the others get weight 0).

    Args:
        hl_logits: HL logits of any shape, e.g. (N, H, W) at label resolution, or (N, P) at
            sampled points.
        mask: None (the official normaliser: every element), or a bool tensor of the same shape
            (e.g. the pixels a loss keeps).
    Returns:
        weights of the same shape, non-negative, summing to 1 (0 everywhere if ``mask`` is empty).
    """
    h = torch.sigmoid(hl_logits) + eps
    if mask is not None:
        h = h * mask.to(h.dtype)
        return h / h.sum().clamp(min=torch.finfo(h.dtype).tiny)
    return h / h.sum()


# fp32 island: the fixed-map normaliser (a sum over every pixel or point) in float32
@float32_island
def fixed_hardness_weights(hardness: torch.Tensor, eps: float = 0.1) -> torch.Tensor:
    """The weights of HL's fixed-map variant (docs/methods/hl.md §8.6): ``(m + eps) / sum(m +
    eps)`` over every element of ``hardness`` (exported maps m in [0, 1], 0 in padding), in
    float32. Same form as :func:`hardness_weights` with ``sigmoid(z)`` replaced by the map.

    Args:
        hardness: maps of any shape, e.g. (N, H, W) at label resolution, or (M, P) read at
            sampled points.
    Returns:
        float32 weights of the same shape, positive, summing to 1.
    """
    h = hardness.float() + eps
    return h / h.sum()


# fp32 island: the HL losses (sums over every pixel) in float32
@float32_island
def hardness_losses(
    weights: torch.Tensor, pixel_losses: torch.Tensor, loss_weight: float = 0.01
) -> Tuple[torch.Tensor, torch.Tensor]:
    """The two HL terms.

    Args:
        weights: from :func:`hardness_weights`, same shape as ``pixel_losses``.
        pixel_losses: per-pixel (or per-point) losses, 0 where the label is ignored.
        loss_weight: lambda_HL (0.01 in the official code).
    Returns:
        ``(L_seg, L_HL)``: ``sum(sg(w) * l)`` and ``-loss_weight * sum(w * sg(l))``.
    """
    if weights.shape != pixel_losses.shape:
        raise ValueError(
            f"HL weights have shape {tuple(weights.shape)} but the per-pixel loss has shape "
            f"{tuple(pixel_losses.shape)}; resize the HL logits to the loss resolution first."
        )
    seg = (weights.detach() * pixel_losses).sum()
    hl = -loss_weight * (weights * pixel_losses.detach()).sum()
    return seg, hl
