"""DeepLab-v2's ASPP classifier as a per-pixel head (HIAST's segmentor, docs/methods/hiast.md §8)."""

from typing import Dict, Sequence

import torch
from torch import nn

from detectron2.config import configurable
from detectron2.layers import ShapeSpec
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY

from ..losses import loss_spec_from_config
from ._common import as_shape_specs, init_predictor
from .per_pixel import PerPixelLossMixin

__all__ = ["ASPPV2Head"]


@SEM_SEG_HEADS_REGISTRY.register()
class ASPPV2Head(PerPixelLossMixin, nn.Module):
    """Parallel 3x3 convs C -> K on one feature (N, C, h, w), dilation = padding = each of
    ``dilations`` (6, 12, 18, 24), weights N(0, ``predictor_init_std``), outputs **summed** ->
    sem_seg_logits (N, K, h, w). No decoder, no dropout. The predictor input ("pre_classifier")
    is the backbone feature itself. Per-pixel head contract as the other heads (see
    :mod:`hardseg.modeling.heads`)."""

    @configurable
    def __init__(
        self,
        input_shape: Dict[str, ShapeSpec],
        *,
        num_classes: int,
        in_feature: str = "res5",
        dilations: Sequence[int] = (6, 12, 18, 24),
        align_corners: bool = True,
        loss_type="cross_entropy",
        loss_weight: float = 1.0,
        ignore_value: int = 255,
        predictor_init_std: float = 0.01,
    ):
        super().__init__()
        input_shape = as_shape_specs(input_shape)
        if in_feature not in input_shape:
            raise ValueError(
                f"ASPPV2Head reads {in_feature!r} but the backbone gives {sorted(input_shape)}; "
                "add it to MODEL.RESNETS.OUT_FEATURES."
            )
        if not dilations:
            raise ValueError("ASPPV2Head: MODEL.SEM_SEG_HEAD.ASPP_DILATIONS must not be empty.")
        self.in_feature = in_feature
        self.in_channels = input_shape[in_feature].channels
        self.common_stride = input_shape[in_feature].stride
        self.align_corners = align_corners
        self.init_loss(loss_type, loss_weight, ignore_value)
        self.branches = nn.ModuleList(
            nn.Conv2d(self.in_channels, num_classes, 3, padding=d, dilation=d) for d in dilations
        )
        for conv in self.branches:
            init_predictor(conv, predictor_init_std)

    @classmethod
    def from_config(cls, cfg, input_shape):
        h = cfg.MODEL.SEM_SEG_HEAD
        if len(h.IN_FEATURES) != 1:
            raise ValueError(
                f"ASPPV2Head reads one feature; MODEL.SEM_SEG_HEAD.IN_FEATURES = "
                f"{h.IN_FEATURES}."
            )
        return {
            "input_shape": input_shape,
            "num_classes": h.NUM_CLASSES,
            "in_feature": h.IN_FEATURES[0],
            "dilations": list(h.ASPP_DILATIONS),
            "align_corners": h.ALIGN_CORNERS,
            "loss_type": loss_spec_from_config(cfg),
            "loss_weight": h.LOSS_WEIGHT,
            "ignore_value": h.IGNORE_VALUE,
            "predictor_init_std": h.PREDICTOR_INIT_STD,
        }

    @property
    def feature_channels(self) -> Dict[str, int]:
        return {"pre_classifier": self.in_channels}

    def layers(self, features: Dict[str, torch.Tensor], *, return_features: bool = False):
        """features[in_feature] (N, C, h, w) -> sem_seg_logits (N, K, h, w)."""
        x = features[self.in_feature]
        logits = sum(conv(x) for conv in self.branches)
        return (logits, {"pre_classifier": x}) if return_features else logits
