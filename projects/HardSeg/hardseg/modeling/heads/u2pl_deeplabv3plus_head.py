"""The DeepLabV3+ decoder of the official U2PL code as a HardSeg per-pixel head.

Official: Haochen-Wang409/U2PL @ab3d2be, ``u2pl/models/decoder.py`` (``dec_deeplabv3_plus``) and
``u2pl/models/base.py`` (``ASPP``); docs/methods/u2pl.md §13.4. It differs from detectron2's
DeepLabV3+ head (:class:`DeepLabV3PlusPerPixelHead`) in the ASPP reduction (a 3x3 conv instead of
1x1), the Dropout2d after each fuse conv, biases on the fuse convs and the low-level projection,
and ``align_corners=True`` for the decoder's upsampling.
"""

from typing import Dict

import torch
from torch import nn
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.layers import Conv2d, ShapeSpec, get_norm
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY

from ..losses import loss_spec_from_config
from ..shape_spec import as_shape_specs
from .per_pixel import PerPixelLossMixin

__all__ = ["U2PLDeepLabV3PlusHead"]


@SEM_SEG_HEADS_REGISTRY.register()
class U2PLDeepLabV3PlusHead(PerPixelLossMixin, nn.Module):
    """U2PL's DeepLabV3+ decoder on a low-level feature (res2) and a high-level one (res5).

    * ``low_conv``: 1x1 conv (bias) + norm + ReLU, C_low -> ``project_channels``;
    * ASPP on the high-level feature: image pooling + 1x1, 1x1, three 3x3 dilated convs (no bias,
      norm, ReLU), ``aspp_channels`` each; concatenated (5 x ``aspp_channels``);
    * ``aspp_reduce``: **3x3** conv (no bias) + norm + ReLU -> ``convs_dim``, then Dropout2d;
    * upsample to the low-level size (bilinear, ``align_corners``), concatenate [low, ASPP]
      ("decoder_concat");
    * ``fuse``: two 3x3 convs (bias) + norm + ReLU, each followed by Dropout2d
      ("pre_classifier" is the output);
    * ``predictor``: 1x1 conv (bias) -> K classes, at the low-level stride.

    Shapes: ``features[f]`` (N, C_f, H/s_f, W/s_f); :meth:`layers` returns (N, K, H/s, W/s) with
    s the low-level stride (``common_stride``). Losses: :class:`PerPixelLossMixin`.
    """

    @configurable
    def __init__(
        self,
        input_shape: Dict[str, ShapeSpec],
        *,
        num_classes: int,
        in_features=("res2", "res5"),
        project_channels: int = 256,
        aspp_channels: int = 256,
        aspp_dilations=(12, 24, 36),
        convs_dim: int = 256,
        dropout: float = 0.1,
        norm: str = "SyncBN",
        align_corners: bool = True,
        loss_type="cross_entropy",
        loss_weight: float = 1.0,
        ignore_value: int = 255,
    ):
        super().__init__()
        input_shape = as_shape_specs(input_shape)
        if len(in_features) != 2 or any(f not in input_shape for f in in_features):
            raise ValueError(
                f"U2PLDeepLabV3PlusHead reads [low-level, high-level] features; "
                f"MODEL.SEM_SEG_HEAD.IN_FEATURES = {list(in_features)}, the backbone gives "
                f"{sorted(input_shape)}."
            )
        if len(aspp_dilations) != 3:
            raise ValueError(
                f"MODEL.SEM_SEG_HEAD.ASPP_DILATIONS = {list(aspp_dilations)}: need 3 rates."
            )
        low, high = in_features
        self.in_features = list(in_features)
        self.common_stride = input_shape[low].stride
        self.align_corners = align_corners
        c_low, c_high = input_shape[low].channels, input_shape[high].channels

        def conv(cin, cout, k, *, bias, dilation=1):
            pad = dilation * (k // 2)
            return Conv2d(
                cin,
                cout,
                k,
                padding=pad,
                dilation=dilation,
                bias=bias,
                norm=get_norm(norm, cout),
                activation=F.relu,
            )

        self.low_conv = conv(c_low, project_channels, 1, bias=True)
        # ASPP branches: [image pooling, 1x1, 3x3 at each dilation]
        self.aspp = nn.ModuleList(
            [conv(c_high, aspp_channels, 1, bias=False), conv(c_high, aspp_channels, 1, bias=False)]
            + [conv(c_high, aspp_channels, 3, bias=False, dilation=d) for d in aspp_dilations]
        )
        self.aspp_reduce = conv(5 * aspp_channels, convs_dim, 3, bias=False)
        self.fuse = nn.ModuleList(
            [
                conv(project_channels + convs_dim, convs_dim, 3, bias=True),
                conv(convs_dim, convs_dim, 3, bias=True),
            ]
        )
        self.dropout = nn.Dropout2d(dropout)
        self.predictor = nn.Conv2d(convs_dim, num_classes, 1)
        self.init_loss(loss_type, loss_weight, ignore_value)

    @classmethod
    def from_config(cls, cfg, input_shape):
        h = cfg.MODEL.SEM_SEG_HEAD
        if len(h.PROJECT_CHANNELS) != 1:
            raise ValueError(
                f"U2PLDeepLabV3PlusHead projects one low-level feature; "
                f"MODEL.SEM_SEG_HEAD.PROJECT_CHANNELS = {list(h.PROJECT_CHANNELS)}."
            )
        return {
            "input_shape": {k: v for k, v in input_shape.items() if k in h.IN_FEATURES},
            "num_classes": h.NUM_CLASSES,
            "in_features": list(h.IN_FEATURES),
            "project_channels": h.PROJECT_CHANNELS[0],
            "aspp_channels": h.ASPP_CHANNELS,
            "aspp_dilations": list(h.ASPP_DILATIONS),
            "convs_dim": h.CONVS_DIM,
            "dropout": h.ASPP_DROPOUT,
            "norm": h.NORM,
            "align_corners": h.ALIGN_CORNERS,
            "loss_type": loss_spec_from_config(cfg),
            "loss_weight": h.LOSS_WEIGHT,
            "ignore_value": h.IGNORE_VALUE,
        }

    @property
    def feature_channels(self) -> Dict[str, int]:
        return {
            "decoder_concat": self.fuse[0].in_channels,
            "pre_classifier": self.predictor.in_channels,
        }

    def _upsample_to(self, x: torch.Tensor, size) -> torch.Tensor:
        return F.interpolate(x, size=size, mode="bilinear", align_corners=self.align_corners)

    def layers(self, features: Dict[str, torch.Tensor], *, return_features: bool = False):
        """``features`` -> logits (N, K, H/s, W/s); with ``return_features`` also
        ``{"decoder_concat": (N, C_proj + C, H/s, W/s), "pre_classifier": (N, C, H/s, W/s)}``."""
        low, high = (features[f] for f in self.in_features)
        pooled = self.aspp[0](F.adaptive_avg_pool2d(high, 1))
        branches = [self._upsample_to(pooled, high.shape[-2:])]
        branches += [branch(high) for branch in self.aspp[1:]]
        y = self.dropout(self.aspp_reduce(torch.cat(branches, dim=1)))
        low = self.low_conv(low)
        concat = torch.cat([low, self._upsample_to(y, low.shape[-2:])], dim=1)
        y = concat
        for conv in self.fuse:
            y = self.dropout(conv(y))
        logits = self.predictor(y)
        if return_features:
            return logits, {"decoder_concat": concat, "pre_classifier": y}
        return logits
