"""The loss half of HardSeg's per-pixel head contract, shared by every per-pixel head."""

import contextlib
from typing import Dict

import torch
from torch.nn import functional as F

from ..losses import WeightedSumLoss, loss_required_inputs


class PerPixelLossMixin:
    """Gives a head :meth:`upsample`, :meth:`pixel_loss` and :meth:`losses` from four attributes
    the head sets: ``loss`` (a module from ``build_sem_seg_loss``), ``loss_type`` (its config
    spec: a name, or the list of terms of ``loss_spec_from_config``), ``loss_weight`` (float) and
    ``common_stride`` (int, the stride of the logits that :meth:`layers` returns).

    A head gets weighted sums of losses and their options for free by passing
    ``loss_spec_from_config(cfg)`` as ``loss_type`` from its ``from_config`` and building
    ``self.loss = build_sem_seg_loss(loss_type, ignore_value)``.

    Losses that need per-sample maps (distance maps, ``loss.required_inputs``) get them through
    :meth:`loss_inputs`, which the meta-architecture enters around the head's forward.

    Shapes: ``predictions`` (N, K, H/s, W/s) with s = ``common_stride``; ``targets`` (N, H, W)
    int64 in [0, K) or the ignore value; extra maps (N, H, W) or (N, K, H, W) at target size.
    """

    @property
    def required_loss_inputs(self) -> tuple:
        """Names of the extra maps the configured loss needs (e.g. ``("signed_dist",)``)."""
        return loss_required_inputs(self.loss)

    @contextlib.contextmanager
    def loss_inputs(self, **maps: torch.Tensor):
        """Within the block, :meth:`losses` and :meth:`pixel_loss` pass ``maps`` (padded like the
        targets) to the losses that require them."""
        previous = getattr(self, "_loss_inputs", None)
        self._loss_inputs = maps
        try:
            yield self
        finally:
            self._loss_inputs = previous

    def _extra_inputs(self) -> Dict[str, torch.Tensor]:
        maps = getattr(self, "_loss_inputs", None) or {}
        missing = [n for n in self.required_loss_inputs if n not in maps]
        if missing:
            raise ValueError(
                f"the loss {self.loss_type!r} needs {missing} (N, ...) from the batch; the "
                "SemanticDatasetMapper computes them when the configured losses need them, and "
                "HardSegmentor passes them through head.loss_inputs(...)."
            )
        return {n: maps[n] for n in self.required_loss_inputs}

    def upsample(self, predictions: torch.Tensor) -> torch.Tensor:
        """(N, K, H/s, W/s) -> (N, K, H, W), bilinear, as the loss and inference see them; with
        the head's ``align_corners`` attribute where it has one (PSPNet, FCN), else False."""
        if self.common_stride == 1:
            return predictions
        return F.interpolate(
            predictions,
            scale_factor=self.common_stride,
            mode="bilinear",
            align_corners=getattr(self, "align_corners", False),
        )

    def pixel_loss(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Per-pixel loss map (N, H, W), 0 at ignored pixels, not multiplied by ``loss_weight``
        (for a weighted sum: ``sum_k lambda_k pixel_loss_k``).

        Raises:
            TypeError: the configured loss (or a term of the sum) has no per-pixel form (e.g.
                Dice, Lovász).
        """
        no_form = (
            self.loss.without_pixel_form()
            if isinstance(self.loss, WeightedSumLoss)
            else ([] if hasattr(self.loss, "pixel_loss") else [self.loss_type])
        )
        if no_form:
            raise TypeError(
                f"MODEL.SEM_SEG_HEAD.LOSS_TYPE/LOSSES={_names(self.loss_type)!r}: {no_form} "
                "has no per-pixel form; use losses that define pixel_loss (e.g. 'cross_entropy', "
                "'focal', 'ohem_cross_entropy')."
            )
        return self.loss.pixel_loss(self.upsample(predictions), targets, **self._extra_inputs())

    def losses(self, predictions: torch.Tensor, targets: torch.Tensor) -> Dict[str, torch.Tensor]:
        """``{"loss_sem_seg": loss_weight * loss}`` for one loss; for a weighted sum of several,
        one key per term, ``{"loss_sem_seg_<name>": loss_weight * lambda_k * L_k}``."""
        logits = self.upsample(predictions)
        extra = self._extra_inputs()
        if not isinstance(self.loss, WeightedSumLoss):
            return {"loss_sem_seg": self.loss(logits, targets, **extra) * self.loss_weight}
        terms = self.loss(logits, targets, **extra)
        if len(terms) == 1:
            return {"loss_sem_seg": next(iter(terms.values())) * self.loss_weight}
        return {f"loss_sem_seg_{name}": v * self.loss_weight for name, v in terms.items()}


def _names(loss_type):
    if isinstance(loss_type, str):
        return loss_type
    return [t["name"] for t in loss_type]
