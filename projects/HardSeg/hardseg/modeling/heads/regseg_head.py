"""RegSeg's "decoder26" (Gao 2021) on HardSeg's per-pixel head contract."""

from typing import Dict, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY

from ..backbone.regseg import ConvBnAct
from ..shape_spec import as_shape_specs
from ._common import loss_args_from_config
from .per_pixel import PerPixelLossMixin


@SEM_SEG_HEADS_REGISTRY.register()
class RegSegHead(PerPixelLossMixin, nn.Module):
    """1/16 and 1/8 features projected to 128 channels (1x1 ConvBnAct) and summed (the 1/16 one
    upsampled), 3x3 ConvBnAct to 64, upsampled and concatenated with the 1/4 feature projected to
    8 channels, 3x3 ConvBnAct to 64, 1x1 classifier. Logits at stride 4.

    Official decoder: RolandGao/RegSeg ``blocks.py`` ``Exp2_Decoder26``.
    """

    @configurable
    def __init__(
        self,
        input_shape,
        *,
        num_classes: int,
        in_features: Sequence[str] = ("res2", "res3", "res4"),
        norm: str = "BN",
        loss_type="cross_entropy",
        loss_weight: float = 1.0,
        ignore_value: int = 255,
    ):
        super().__init__()
        input_shape = as_shape_specs(input_shape)
        if len(in_features) != 3 or any(f not in input_shape for f in in_features):
            raise ValueError(
                f"RegSegHead reads 3 levels (strides 4, 8, 16); MODEL.SEM_SEG_HEAD.IN_FEATURES "
                f"= {list(in_features)}, backbone outputs {sorted(input_shape)}."
            )
        self.in_features = list(in_features)
        c4, c8, c16 = (input_shape[f].channels for f in in_features)
        self.head16 = ConvBnAct(c16, 128, 1, norm=norm)
        self.head8 = ConvBnAct(c8, 128, 1, norm=norm)
        self.head4 = ConvBnAct(c4, 8, 1, norm=norm)
        self.conv8 = ConvBnAct(128, 64, 3, norm=norm)
        self.conv4 = ConvBnAct(64 + 8, 64, 3, norm=norm)
        self.init_classifier(64, num_classes)
        self.common_stride = input_shape[self.in_features[0]].stride
        self.init_loss(loss_type, loss_weight, ignore_value)

    @classmethod
    def from_config(cls, cfg, input_shape):
        h = cfg.MODEL.SEM_SEG_HEAD
        return {
            **loss_args_from_config(cfg),
            "input_shape": input_shape,
            "in_features": h.IN_FEATURES,
            "norm": h.NORM,
        }

    def layers(self, features: Dict[str, torch.Tensor], *, return_features: bool = False):
        """``features`` -> logits (N, K, H/4, W/4); with ``return_features`` also
        ``{"pre_classifier": (N, 64, H/4, W/4)}``."""
        x4, x8, x16 = (features[f] for f in self.in_features)
        x8 = self.head8(x8)
        x16 = F.interpolate(
            self.head16(x16), size=x8.shape[-2:], mode="bilinear", align_corners=False
        )
        x8 = self.conv8(x8 + x16)
        x4 = self.head4(x4)
        x8 = F.interpolate(x8, size=x4.shape[-2:], mode="bilinear", align_corners=False)
        y = self.conv4(torch.cat([x8, x4], dim=1))
        logits = self.predictor(y)
        return (logits, {"pre_classifier": y}) if return_features else logits
