"""The loss half of HardSeg's per-pixel head contract, shared by every per-pixel head."""

from typing import Dict

import torch
from torch.nn import functional as F


class PerPixelLossMixin:
    """Gives a head :meth:`upsample`, :meth:`pixel_loss` and :meth:`losses` from four attributes
    the head sets: ``loss`` (a module from ``build_sem_seg_loss``), ``loss_type`` (its config name,
    for messages), ``loss_weight`` (float) and ``common_stride`` (int, the stride of the logits
    that :meth:`layers` returns).

    Shapes: ``predictions`` (N, K, H/s, W/s) with s = ``common_stride``; ``targets`` (N, H, W)
    int64 in [0, K) or the ignore value.
    """

    def upsample(self, predictions: torch.Tensor) -> torch.Tensor:
        """(N, K, H/s, W/s) -> (N, K, H, W), bilinear, as the loss and inference see them."""
        if self.common_stride == 1:
            return predictions
        return F.interpolate(
            predictions, scale_factor=self.common_stride, mode="bilinear", align_corners=False
        )

    def pixel_loss(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Per-pixel loss map (N, H, W), 0 at ignored pixels, not multiplied by ``loss_weight``.

        Raises:
            TypeError: the configured loss has no per-pixel form (e.g. Dice, Lovász).
        """
        if not hasattr(self.loss, "pixel_loss"):
            raise TypeError(
                f"MODEL.SEM_SEG_HEAD.LOSS_TYPE={self.loss_type!r} has no per-pixel form; use a "
                "loss that defines pixel_loss (e.g. 'cross_entropy')."
            )
        return self.loss.pixel_loss(self.upsample(predictions), targets)

    def losses(self, predictions: torch.Tensor, targets: torch.Tensor) -> Dict[str, torch.Tensor]:
        """``{"loss_sem_seg": loss_weight * loss(upsampled predictions, targets)}``."""
        loss = self.loss(self.upsample(predictions), targets)
        return {"loss_sem_seg": loss * self.loss_weight}
