"""TopFormer's SimpleHead on HardSeg's per-pixel head contract: sum the levels, 1x1 conv, classify."""

from typing import Dict, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.layers import get_norm
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY

from ..shape_spec import as_shape_specs
from ._common import loss_args_from_config
from .per_pixel import PerPixelLossMixin


@SEM_SEG_HEADS_REGISTRY.register()
class SimpleSumHead(PerPixelLossMixin, nn.Module):
    """The ``in_features`` (same width C) resized bilinearly to the first one's size and summed,
    then a 1x1 conv (depthwise with ``depthwise``, TopFormer-T) + norm + ReLU, dropout and a 1x1
    classifier. Logits (N, K, H/s, W/s), s the first feature's stride.

    Official head: hustvl/TopFormer ``mmseg/models/decode_heads/simple_head.py``.
    """

    @configurable
    def __init__(
        self,
        input_shape,
        *,
        num_classes: int,
        in_features: Sequence[str] = ("res3", "res4", "res5"),
        depthwise: bool = False,
        dropout: float = 0.1,
        norm: str = "BN",
        loss_type="cross_entropy",
        loss_weight: float = 1.0,
        ignore_value: int = 255,
        predictor_init_std: float = 0.01,
    ):
        super().__init__()
        input_shape = as_shape_specs(input_shape)
        widths = {input_shape[f].channels for f in in_features if f in input_shape}
        if len(widths) != 1 or any(f not in input_shape for f in in_features):
            raise ValueError(
                f"SimpleSumHead sums levels of one width; MODEL.SEM_SEG_HEAD.IN_FEATURES "
                f"{list(in_features)} have widths "
                f"{[input_shape[f].channels if f in input_shape else None for f in in_features]}."
            )
        c = widths.pop()
        self.in_features = list(in_features)
        self.linear_fuse = nn.Module()  # official keys: linear_fuse.conv / linear_fuse.bn
        self.linear_fuse.conv = nn.Conv2d(c, c, 1, groups=c if depthwise else 1, bias=False)
        self.linear_fuse.bn = get_norm(norm, c)
        self.init_classifier(c, num_classes, dropout=dropout, init_std=predictor_init_std)
        self.common_stride = input_shape[self.in_features[0]].stride
        self.init_loss(loss_type, loss_weight, ignore_value)

    @classmethod
    def from_config(cls, cfg, input_shape):
        h = cfg.MODEL.SEM_SEG_HEAD
        return {
            **loss_args_from_config(cfg),
            "input_shape": input_shape,
            "in_features": h.IN_FEATURES,
            "depthwise": h.DEPTHWISE_FUSE,
            "dropout": h.DROPOUT,
            "norm": h.NORM,
            "predictor_init_std": h.PREDICTOR_INIT_STD,
        }

    def layers(self, features: Dict[str, torch.Tensor], *, return_features: bool = False):
        """``features`` -> logits (N, K, H/s, W/s); with ``return_features`` also
        ``{"pre_classifier": (N, C, H/s, W/s)}``."""
        x = features[self.in_features[0]]
        for f in self.in_features[1:]:
            x = x + F.interpolate(
                features[f], size=x.shape[-2:], mode="bilinear", align_corners=False
            )
        y = F.relu(self.linear_fuse.bn(self.linear_fuse.conv(x)))
        logits = self.predictor(self.dropout(y))
        return (logits, {"pre_classifier": y}) if return_features else logits
