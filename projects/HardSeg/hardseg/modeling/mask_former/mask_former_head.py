"""MaskFormerHead: pixel decoder + transformer decoder (a SEM_SEG_HEADS_REGISTRY entry).

Dimension legend: N images; Q queries; K classes; E = MASK_DIM; (H, W) padded input size.
"""

from typing import Dict, Tuple

import torch
from torch import nn

from detectron2.config import configurable
from detectron2.layers import ShapeSpec
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY

from ..pixel_decoder import build_pixel_decoder
from ..transformer_decoder import build_transformer_decoder

__all__ = ["MaskFormerHead"]


@SEM_SEG_HEADS_REGISTRY.register()
class MaskFormerHead(nn.Module):
    """The network half of a mask-classification model; the loss lives in
    :class:`~hardseg.modeling.mask_former.MaskClassificationCriterion`.

    forward(features {"res2": (N, C_2, H/4, W/4), ...}) -> (outputs, mask_features):
    ``outputs`` as the transformer decoder returns it (``pred_logits`` (N, Q, K+1),
    ``pred_masks`` (N, Q, H/4, W/4), ``aux_outputs``), ``mask_features`` (N, E, H/4, W/4) (for
    the HL branch).
    """

    @configurable
    def __init__(
        self,
        *,
        pixel_decoder: nn.Module,
        predictor: nn.Module,
        num_classes: int,
        ignore_value: int = 255
    ):
        super().__init__()
        self.pixel_decoder = pixel_decoder
        self.predictor = predictor
        self.num_classes = num_classes
        self.ignore_value = ignore_value

    @classmethod
    def from_config(cls, cfg, input_shape: Dict[str, ShapeSpec]):
        head = cfg.MODEL.SEM_SEG_HEAD
        return {
            "pixel_decoder": build_pixel_decoder(cfg, input_shape),
            "predictor": build_transformer_decoder(cfg, head.CONVS_DIM),
            "num_classes": head.NUM_CLASSES,
            "ignore_value": head.IGNORE_VALUE,
        }

    def forward(self, features: Dict[str, torch.Tensor]) -> Tuple[dict, torch.Tensor]:
        mask_features, multi_scale_features = self.pixel_decoder(features)
        return self.predictor(multi_scale_features, mask_features), mask_features
