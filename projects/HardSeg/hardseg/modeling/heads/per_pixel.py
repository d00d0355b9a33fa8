"""The loss half of HardSeg's per-pixel head contract, shared by every per-pixel head, and the
classifier tail (dropout + 1x1 predictor) most of them end with."""

from typing import Dict, Optional

import torch
from torch import nn
from torch.nn import functional as F

from ..precision import float32_island
from ._common import init_predictor
from ..losses import (
    WeightedSumLoss,
    build_sem_seg_loss,
    check_pixel_form,
    loss_required_inputs,
    select_loss_inputs,
)

LossInputs = Optional[Dict[str, torch.Tensor]]


class PerPixelLossMixin:
    """Gives a head :meth:`upsample`, :meth:`pixel_loss` and :meth:`losses` from four attributes
    the head sets: ``loss`` (a module from ``build_sem_seg_loss``), ``loss_type`` (its config
    spec: a name, or the list of terms of ``loss_spec_from_config``), ``loss_weight`` (float) and
    ``common_stride`` (int, the stride of the logits that :meth:`layers` returns).

    A head gets weighted sums of losses and their options for free by passing
    ``loss_spec_from_config(cfg)`` as ``loss_type`` from its ``from_config`` and calling
    :meth:`init_loss` (which builds ``self.loss = build_sem_seg_loss(loss_type, ignore_value)``).

    Everything a loss needs arrives as an argument (the head keeps no per-batch state):
    ``loss_inputs`` holds the per-sample maps named by :attr:`required_loss_inputs` (distance
    maps from the mapper, padded like the targets) and ``pixel_weights`` turns the mean loss into
    a weighted sum over pixels (HL's ``loss_sem_seg`` is this sum with its detached weights).

    Shapes: ``predictions`` (N, K, H/s, W/s) with s = ``common_stride``; ``targets`` (N, H, W)
    int64 in [0, K) or the ignore value; extra maps (N, H, W) or (N, K, H, W) at target size;
    ``pixel_weights`` (N, H, W).
    """

    def init_loss(self, loss_type, loss_weight: float = 1.0, ignore_value: int = 255) -> None:
        """Set ``loss_type``, ``loss_weight``, ``ignore_value`` and build ``loss``."""
        self.loss_type = loss_type
        self.loss_weight = loss_weight
        self.ignore_value = ignore_value
        self.loss = build_sem_seg_loss(loss_type, ignore_value)

    def init_classifier(
        self,
        in_channels: int,
        num_classes: int,
        *,
        dropout: Optional[float] = None,
        init_std: Optional[float] = None,
        bias: bool = True,
    ) -> None:
        """Set the classifier tail: ``dropout`` (``Dropout2d(p)``, Identity for p = 0; not set
        when None) and ``predictor``, a 1x1 conv ``in_channels -> num_classes`` initialised
        N(0, ``init_std``) with zero bias as mmseg's decode heads (PyTorch's default init when
        ``init_std`` is None). Call it where the head's predictor belongs in its module order
        (parameter order and the random init depend on it)."""
        if dropout is not None:
            self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        self.predictor = nn.Conv2d(in_channels, num_classes, 1, bias=bias)
        if init_std is not None:
            init_predictor(self.predictor, init_std)

    def forward(self, features: Dict[str, torch.Tensor], targets=None, *, loss_inputs=None):
        """Training: ``(None, losses)``; inference: ``(logits (N, K, H, W), {})`` (upsampled).
        Meta-architectures call :meth:`layers` and :meth:`losses` themselves."""
        y = self.layers(features)
        if self.training:
            return None, self.losses(y, targets, loss_inputs=loss_inputs)
        return self.upsample(y), {}

    @property
    def feature_channels(self) -> Dict[str, int]:
        """Channels of the features ``layers(..., return_features=True)`` returns; by default
        ``{"pre_classifier": predictor.in_channels}`` (the input of a Conv2d ``predictor``)."""
        predictor = getattr(self, "predictor", None)
        if isinstance(predictor, nn.Conv2d):
            return {"pre_classifier": predictor.in_channels}
        return {}

    @property
    def required_loss_inputs(self) -> tuple:
        """Names of the extra maps the configured loss needs (e.g. ``("signed_dist",)``)."""
        return loss_required_inputs(self.loss)

    def upsample(self, predictions: torch.Tensor, size=None) -> torch.Tensor:
        """(N, K, h, w) -> (N, K, H, W), bilinear, with the head's ``align_corners`` attribute
        where it has one (PSPNet, FCN), else False.

        ``size`` None: (H, W) = (s*h, s*w), s = ``common_stride`` (inference on inputs padded to
        a multiple of s). ``size`` (H, W): exactly that size, as mmseg resizes logits to the label
        size; the loss always passes the target size, so that a head whose stride does not divide
        the padded input (an FCN auxiliary head at stride 8 on a 772 crop, or any head on a 769
        crop) meets its labels pixel for pixel. With ``align_corners=True`` and H = s*(h-1)+1
        (mmseg's 769 = 8*96+1 crops), label pixel j lands exactly on logit cell j/s.
        """
        align = bool(getattr(self, "align_corners", False))
        if size is None:
            if self.common_stride == 1:
                return predictions
            return F.interpolate(
                predictions, scale_factor=self.common_stride, mode="bilinear", align_corners=align
            )
        size = tuple(int(v) for v in size)
        if tuple(predictions.shape[-2:]) == size:
            return predictions
        return F.interpolate(predictions, size=size, mode="bilinear", align_corners=align)

    # fp32 island: the loss of the upsampled logits (log-softmax over K classes) in float32
    @float32_island
    def pixel_loss(
        self, predictions: torch.Tensor, targets: torch.Tensor, *, loss_inputs: LossInputs = None
    ) -> torch.Tensor:
        """Per-pixel loss map (N, H, W), 0 at ignored pixels, not multiplied by ``loss_weight``
        (for a weighted sum: ``sum_k lambda_k pixel_loss_k``).

        Raises:
            TypeError: the configured loss (or a term of the sum) has no per-pixel form (e.g.
                Dice, Lovász).
            ValueError: ``loss_inputs`` lacks a map the loss needs.
        """
        check_pixel_form(self.loss, self.loss_type)
        extra = select_loss_inputs(self.loss, loss_inputs)
        return self.loss.pixel_loss(
            self.upsample(predictions, targets.shape[-2:]), targets, **extra
        )

    @torch.no_grad()
    def kept_pixels(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """(N, H, W) bool: the pixels the loss counts. A loss with a ``kept_mask`` (OHEM) gives
        the labelled pixels it keeps, any other the labelled pixels (target != ignore value); a
        weighted sum, the union over its terms."""
        losses = self.loss.modules_ if isinstance(self.loss, WeightedSumLoss) else [self.loss]
        if not any(hasattr(m, "kept_mask") for m in losses):
            return targets != self.ignore_value
        logits = self.upsample(predictions, targets.shape[-2:])
        kept = torch.zeros_like(targets, dtype=torch.bool)
        for m in losses:
            mask = m.kept_mask(logits, targets) if hasattr(m, "kept_mask") else None
            kept |= (targets != self.ignore_value) if mask is None else mask
        return kept

    # fp32 island: the losses (log-softmax, weighted pixel sums) in float32
    @float32_island
    def losses(
        self,
        predictions: torch.Tensor,
        targets: torch.Tensor,
        *,
        pixel_weights: Optional[torch.Tensor] = None,
        loss_inputs: LossInputs = None,
        features=None,
    ) -> Dict[str, torch.Tensor]:
        """The head's training losses.

        Without ``pixel_weights``: ``{"loss_sem_seg": loss_weight * loss}`` for one loss; for a
        weighted sum of several, one key per term, ``{"loss_sem_seg_<name>": loss_weight *
        lambda_k * L_k}``. With ``pixel_weights`` w (N, H, W): ``{"loss_sem_seg": sum(w *
        loss_weight * pixel_loss)}`` in float32 (the caller decides whether w carries gradient).

        ``features`` (the backbone outputs) is accepted so that every head is called the same
        way; plain heads do not read it (HL's wrapper does).
        """
        if pixel_weights is not None:
            pixels = self.pixel_loss(predictions, targets, loss_inputs=loss_inputs)
            return {"loss_sem_seg": (pixel_weights * (pixels.float() * self.loss_weight)).sum()}
        logits = self.upsample(predictions, targets.shape[-2:])
        extra = select_loss_inputs(self.loss, loss_inputs)
        if not isinstance(self.loss, WeightedSumLoss):
            return {"loss_sem_seg": self.loss(logits, targets, **extra) * self.loss_weight}
        terms = self.loss(logits, targets, **extra)
        if len(terms) == 1:
            return {"loss_sem_seg": next(iter(terms.values())) * self.loss_weight}
        return {f"loss_sem_seg_{name}": v * self.loss_weight for name, v in terms.items()}
