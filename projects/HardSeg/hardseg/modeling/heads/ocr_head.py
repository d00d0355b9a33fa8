"""OCRNet head on HRNetV2 (mmseg's ``CascadeEncoderDecoder`` with an ``FCNHead`` stage 1 and an
``OCRHead`` stage 2), as one per-pixel head.

Stage 1 (``stage1``, an :class:`HRNetFCNHead`, loss weight 0.4) gives soft object regions; stage 2
reads the same resize-concat X (720 channels for W48): 3x3 conv -> ``channels`` (512) + norm +
ReLU = pixel features; spatial gather: one ``channels``-d representation per class, the
softmax-over-pixels of the stage-1 logits weighting the pixel features; object-context attention
(pixels query the class representations, ``ocr_channels`` = 256 key channels, two 1x1 conv + norm
+ ReLU layers for key and query, one for value and output), concatenated with the pixel features
and fused by a 1x1 conv; 1x1 ``predictor``. Submodule names follow mmseg's, for the converter.
"""

from typing import Dict, Optional, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.layers import ShapeSpec
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY

from ..losses import loss_spec_from_config
from ._common import init_predictor
from .hrnet_fcn_head import ConvNormReLU, HRNetFCNHead, resize_concat
from .per_pixel import PerPixelLossMixin


class ObjectContextBlock(nn.Module):
    """Pixels (N, C, h, w) attend to class representations (N, C, K, 1) -> (N, C, h, w)."""

    def __init__(self, channels: int, key_channels: int, norm: str):
        super().__init__()
        self.key_channels = key_channels
        two = lambda: nn.Sequential(
            ConvNormReLU(channels, key_channels, 1, norm),
            ConvNormReLU(key_channels, key_channels, 1, norm),
        )
        self.query_project = two()
        self.key_project = two()
        self.value_project = ConvNormReLU(channels, key_channels, 1, norm)
        self.out_project = ConvNormReLU(key_channels, channels, 1, norm)
        self.bottleneck = ConvNormReLU(2 * channels, channels, 1, norm)

    def forward(self, pixels, regions):
        n, _, h, w = pixels.shape
        query = self.query_project(pixels).flatten(2).transpose(1, 2)  # (N, hw, Ck)
        key = self.key_project(regions).flatten(2)  # (N, Ck, K)
        value = self.value_project(regions).flatten(2).transpose(1, 2)  # (N, K, Ck)
        attention = torch.softmax(query @ key * self.key_channels**-0.5, dim=-1)
        context = (attention @ value).transpose(1, 2).reshape(n, -1, h, w)
        context = self.out_project(context)
        return self.bottleneck(torch.cat([context, pixels], dim=1))


class OCRStage(nn.Module):
    """Stage 2: (X (N, C_X, h, w), stage-1 logits (N, K, h, w)) -> (logits, pre-classifier)."""

    def __init__(self, in_channels, channels, key_channels, num_classes, norm, init_std=0.01):
        super().__init__()
        self.bottleneck = ConvNormReLU(in_channels, channels, 3, norm)
        self.object_context_block = ObjectContextBlock(channels, key_channels, norm)
        self.predictor = nn.Conv2d(channels, num_classes, 1)
        init_predictor(self.predictor, init_std)

    def forward(self, x, stage1_logits):
        pixels = self.bottleneck(x)
        soft = torch.softmax(stage1_logits.flatten(2), dim=2)  # (N, K, hw) over pixels
        regions = (soft @ pixels.flatten(2).transpose(1, 2)).transpose(1, 2).unsqueeze(3)
        y = self.object_context_block(pixels, regions)
        return self.predictor(y), y


@SEM_SEG_HEADS_REGISTRY.register()
class HRNetOCRHead(PerPixelLossMixin, nn.Module):
    """OCRNet head. ``layers`` -> stage-2 logits (N, K, H/4, W/4); with ``return_features``, also
    ``{"head_input": X, "stage1_logits": ..., "pre_classifier": ...}``. ``losses`` adds the
    stage-1 loss ``loss_sem_seg_stage1`` (its own loss weight, 0.4)."""

    @configurable
    def __init__(
        self,
        input_shape: Dict[str, ShapeSpec],
        *,
        stage1: HRNetFCNHead,
        num_classes: int,
        channels: int = 512,
        key_channels: int = 256,
        norm: str = "BN",
        loss_type="cross_entropy",
        loss_weight: float = 1.0,
        ignore_value: int = 255,
        predictor_init_std: float = 0.01,
    ):
        super().__init__()
        self.stage1 = stage1
        self.in_features = stage1.in_features
        self.in_channels = stage1.in_channels
        self.align_corners = stage1.align_corners
        self.common_stride = stage1.common_stride
        self.init_loss(loss_type, loss_weight, ignore_value)
        self.stage2 = OCRStage(
            self.in_channels, channels, key_channels, num_classes, norm, predictor_init_std
        )
        self.norm = norm
        self.wants_head_features = True  # HardSegmentor passes layers()' features to losses()

    @classmethod
    def from_config(cls, cfg, input_shape):
        h = cfg.MODEL.SEM_SEG_HEAD
        args = HRNetFCNHead.from_config(cfg, input_shape)
        args["channels"] = sum(input_shape[f].channels for f in h.IN_FEATURES)
        args["loss_weight"] = cfg.MODEL.OCR.STAGE1_LOSS_WEIGHT
        return {
            "input_shape": input_shape,
            "stage1": HRNetFCNHead(**args),
            "num_classes": h.NUM_CLASSES,
            "channels": cfg.MODEL.OCR.CHANNELS,
            "key_channels": cfg.MODEL.OCR.KEY_CHANNELS,
            "norm": h.NORM,
            "loss_type": loss_spec_from_config(cfg),
            "loss_weight": h.LOSS_WEIGHT,
            "ignore_value": h.IGNORE_VALUE,
            "predictor_init_std": h.PREDICTOR_INIT_STD,
        }

    @property
    def predictor(self) -> nn.Module:
        return self.stage2.predictor

    @property
    def feature_channels(self) -> Dict[str, int]:
        return {"head_input": self.in_channels, "pre_classifier": self.predictor.in_channels}

    def layers(self, features: Dict[str, torch.Tensor], *, return_features: bool = False):
        x = resize_concat(features, self.in_features, self.align_corners)
        stage1 = self.stage1.predictor(self.stage1.dropout(self.stage1.convs(x)))
        logits, y = self.stage2(x, stage1)
        taps = {"head_input": x, "stage1_logits": stage1, "pre_classifier": y}
        return (logits, taps) if return_features else logits

    @classmethod
    def hl_branch_from_config(cls, cfg, input_shape) -> "HRNetOCRHead":
        """HL's branch for OCRNet, as the official ``HLCascadeEncoderDecoder``: a complete copy of
        the cascade whose stage 1 keeps the K classes (its soft regions feed stage 2) and whose
        stage 2 has one output (docs/methods/hl.md §3.3)."""
        args = cls.from_config(cfg, input_shape)
        args["num_classes"] = 1
        return cls(**args)

    def cascade_pixel_losses(self, targets, *, head_features, loss_inputs=None):
        """The earlier stages' per-pixel losses, each times its loss weight, (N, H, W), for HL to
        re-weight with the same hardness map: ``{"loss_sem_seg_stage1": ...}``."""
        s1 = self.stage1
        loss = s1.pixel_loss(head_features["stage1_logits"], targets, loss_inputs=loss_inputs)
        return {"loss_sem_seg_stage1": loss * s1.loss_weight}

    def cac_weight_branch(self, num_classes: int) -> nn.Module:
        """CAC's weight branch for OCRNet: a complete second stage 2 (docs/methods/cac.md §3)."""
        s = self.stage2
        return OCRStageWeightBranch(
            OCRStage(
                self.in_channels,
                s.bottleneck.conv.out_channels,
                s.object_context_block.key_channels,
                num_classes,
                self.norm,
            )
        )

    def losses(
        self,
        predictions: torch.Tensor,
        targets: torch.Tensor,
        *,
        pixel_weights: Optional[torch.Tensor] = None,
        loss_inputs=None,
        features=None,
        head_features: Optional[Dict[str, torch.Tensor]] = None,
    ) -> Dict[str, torch.Tensor]:
        """Stage 2's losses plus ``loss_sem_seg_stage1``; stage-1 logits from ``head_features``
        or, without them, recomputed from ``features``."""
        out = PerPixelLossMixin.losses(
            self, predictions, targets, pixel_weights=pixel_weights, loss_inputs=loss_inputs
        )
        if head_features is None:
            if features is None:
                raise ValueError("HRNetOCRHead.losses needs head_features or features.")
            head_features = self.layers(features, return_features=True)[1]
        stage1 = self.stage1.losses(
            head_features["stage1_logits"], targets, loss_inputs=loss_inputs
        )
        out["loss_sem_seg_stage1"] = sum(stage1.values())
        return out


class OCRStageWeightBranch(nn.Module):
    """Wraps an :class:`OCRStage` as CAC's weight branch: reads ``head_input`` and
    ``stage1_logits`` (both detached by the caller)."""

    def __init__(self, stage: OCRStage):
        super().__init__()
        self.stage = stage

    def forward(self, head_features: Dict[str, torch.Tensor]) -> torch.Tensor:
        return self.stage(head_features["head_input"], head_features["stage1_logits"])[0]
