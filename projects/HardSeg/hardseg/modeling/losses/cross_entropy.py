"""Pixel-wise cross-entropy with a per-pixel form (other losses and HL re-weight it)."""

import torch
from torch import nn
from torch.nn import functional as F


class PixelCrossEntropy(nn.Module):
    """Softmax cross-entropy averaged over the pixels whose label is not ``ignore_value``.

    ``loss = sum_p l_p / max(#valid pixels, 1)`` with ``l_p = -log softmax(logits_p)[y_p]``, so a
    batch whose pixels are all ignored gives 0 (not NaN).
    """

    def __init__(self, ignore_value: int = 255):
        super().__init__()
        self.ignore_value = ignore_value

    def pixel_loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """
        Args:
            logits: (N, K, H, W) unnormalised class scores, at the resolution of ``targets``.
            targets: (N, H, W) int64 class ids in [0, K) or ``ignore_value``.
        Returns:
            (N, H, W) per-pixel loss, 0 at ignored pixels.
        """
        return F.cross_entropy(logits, targets, reduction="none", ignore_index=self.ignore_value)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        valid = (targets != self.ignore_value).sum().clamp(min=1)
        return self.pixel_loss(logits, targets).sum() / valid
