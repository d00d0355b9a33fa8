"""FCN head on HRNetV2 (mmseg's ``FCNHead`` with ``input_transform="resize_concat"``, one 1x1 conv,
no input concatenation, no dropout), the head of the FCN-HR and OCRNet stage-1 models."""

from typing import Dict, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.layers import ShapeSpec, get_norm
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY

from ._common import as_shape_specs, loss_args_from_config
from .per_pixel import PerPixelLossMixin


class ConvNormReLU(nn.Sequential):
    """conv (no bias) + norm + ReLU with mmcv ``ConvModule``'s names ``conv`` and ``bn``."""

    def __init__(self, cin: int, cout: int, kernel_size: int, norm: str):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size, padding=kernel_size // 2, bias=False)
        self.bn = get_norm(norm, cout)
        self.activate = nn.ReLU(inplace=True)
        nn.init.kaiming_normal_(self.conv.weight, mode="fan_out", nonlinearity="relu")


def resize_concat(features: Dict[str, torch.Tensor], names: Sequence[str], align_corners: bool):
    """Every ``features[name]`` resized bilinearly to the first one's size, concatenated on
    channels: (N, sum C, h, w)."""
    size = features[names[0]].shape[-2:]
    return torch.cat(
        [
            F.interpolate(features[n], size=size, mode="bilinear", align_corners=align_corners)
            for n in names
        ],
        dim=1,
    )


@SEM_SEG_HEADS_REGISTRY.register()
class HRNetFCNHead(PerPixelLossMixin, nn.Module):
    """``in_features`` resized to the finest and concatenated (X, (N, sum C, H/4, W/4); 720
    channels for W48) -> ``num_convs`` k x k convs of ``channels`` + norm + ReLU -> optional
    Dropout2d -> 1x1 ``predictor``. ``layers(..., return_features=True)`` also gives
    ``{"head_input": X, "pre_classifier": ...}`` (CAC reads ``head_input``, docs/methods/cac.md
    §2 #1)."""

    @configurable
    def __init__(
        self,
        input_shape: Dict[str, ShapeSpec],
        *,
        num_classes: int,
        in_features: Sequence[str] = ("hr1", "hr2", "hr3", "hr4"),
        channels: int = 720,
        num_convs: int = 1,
        kernel_size: int = 1,
        dropout: float = 0.0,
        norm: str = "BN",
        align_corners: bool = False,
        loss_type="cross_entropy",
        loss_weight: float = 1.0,
        ignore_value: int = 255,
        predictor_init_std: float = 0.01,
    ):
        super().__init__()
        input_shape = as_shape_specs(input_shape)
        missing = [f for f in in_features if f not in input_shape]
        if missing:
            raise ValueError(
                f"MODEL.SEM_SEG_HEAD.IN_FEATURES {list(in_features)}: {missing} are not backbone "
                f"outputs {sorted(input_shape)}."
            )
        self.in_features = list(in_features)
        self.in_channels = sum(input_shape[f].channels for f in in_features)
        self.align_corners = align_corners
        self.common_stride = input_shape[in_features[0]].stride
        self.init_loss(loss_type, loss_weight, ignore_value)
        convs = [
            ConvNormReLU(self.in_channels if i == 0 else channels, channels, kernel_size, norm)
            for i in range(num_convs)
        ]
        self.convs = nn.Sequential(*convs)
        self.init_classifier(
            channels if num_convs else self.in_channels,
            num_classes,
            dropout=dropout,
            init_std=predictor_init_std,
        )

    @classmethod
    def from_config(cls, cfg, input_shape):
        h = cfg.MODEL.SEM_SEG_HEAD
        return {
            **loss_args_from_config(cfg),
            "input_shape": input_shape,
            "in_features": list(h.IN_FEATURES),
            "channels": h.CHANNELS,
            "num_convs": h.NUM_CONVS,
            "kernel_size": 1,
            "dropout": h.DROPOUT,
            "norm": h.NORM,
            "align_corners": h.ALIGN_CORNERS,
            "predictor_init_std": h.PREDICTOR_INIT_STD,
        }

    @property
    def feature_channels(self) -> Dict[str, int]:
        return {"head_input": self.in_channels, "pre_classifier": self.predictor.in_channels}

    def layers(self, features: Dict[str, torch.Tensor], *, return_features: bool = False):
        """features -> logits (N, K, H/4, W/4); with ``return_features``, also
        ``{"head_input": X, "pre_classifier": y}``."""
        x = resize_concat(features, self.in_features, self.align_corners)
        y = self.dropout(self.convs(x))
        logits = self.predictor(y)
        return (logits, {"head_input": x, "pre_classifier": y}) if return_features else logits
