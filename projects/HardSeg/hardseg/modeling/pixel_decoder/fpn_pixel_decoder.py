"""The FPN pixel decoder of MaskFormer (``BasePixelDecoder``), returning the multi-scale maps that
the masked-attention decoder reads.

Dimension legend: N batch; C_l backbone channels of level l; C = ``conv_dim``; E = ``mask_dim``;
H, W the padded input size.
"""

from typing import Dict, List, Tuple

import fvcore.nn.weight_init as weight_init
import torch
from torch import nn
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.layers import Conv2d, ShapeSpec, get_norm

from .build import PIXEL_DECODER_REGISTRY, as_shape_specs

__all__ = ["FPNPixelDecoder"]


@PIXEL_DECODER_REGISTRY.register()
class FPNPixelDecoder(nn.Module):
    """Top-down FPN over ``input_shape`` (e.g. res2..res5): the coarsest level goes through a
    3x3 conv; every finer level adds a 1x1 lateral projection to the nearest-upsampled coarser
    output, then a 3x3 conv (each conv with ``norm`` and ReLU). ``mask_features`` is a 3x3 conv of
    the finest output.

    forward(features {name: (N, C_l, H/s_l, W/s_l)}) ->
        mask_features (N, E, H/s_min, W/s_min),
        multi_scale_features: the first ``num_feature_levels`` outputs, coarsest first, each
        (N, C, H/s_l, W/s_l).
    """

    @configurable
    def __init__(
        self,
        input_shape: Dict[str, ShapeSpec],
        *,
        conv_dim: int,
        mask_dim: int,
        norm: str = "GN",
        num_feature_levels: int = 3,
    ):
        super().__init__()
        input_shape = as_shape_specs(input_shape)
        # fine to coarse by stride
        self.in_features = [k for k, _ in sorted(input_shape.items(), key=lambda kv: kv[1].stride)]
        if len(self.in_features) < num_feature_levels:
            raise ValueError(
                f"FPNPixelDecoder needs at least num_feature_levels={num_feature_levels} inputs, "
                f"got {self.in_features}."
            )
        self.num_feature_levels = num_feature_levels
        use_bias = norm == ""
        self.lateral_convs = nn.ModuleList()
        self.output_convs = nn.ModuleList()
        # built coarse to fine; the coarsest level has no lateral conv
        for i, name in enumerate(reversed(self.in_features)):
            c = input_shape[name].channels
            if i == 0:
                self.lateral_convs.append(nn.Identity())
                in_out = c
            else:
                lateral = Conv2d(c, conv_dim, 1, bias=use_bias, norm=get_norm(norm, conv_dim))
                weight_init.c2_xavier_fill(lateral)
                self.lateral_convs.append(lateral)
                in_out = conv_dim
            out = Conv2d(
                in_out,
                conv_dim,
                3,
                padding=1,
                bias=use_bias,
                norm=get_norm(norm, conv_dim),
                activation=F.relu,
            )
            weight_init.c2_xavier_fill(out)
            self.output_convs.append(out)
        self.mask_features = Conv2d(conv_dim, mask_dim, 3, padding=1)
        weight_init.c2_xavier_fill(self.mask_features)

    @classmethod
    def from_config(cls, cfg, input_shape: Dict[str, ShapeSpec]):
        head = cfg.MODEL.SEM_SEG_HEAD
        return {
            "input_shape": {k: v for k, v in input_shape.items() if k in head.IN_FEATURES},
            "conv_dim": head.CONVS_DIM,
            "mask_dim": head.MASK_DIM,
            "norm": head.NORM,
            "num_feature_levels": cfg.MODEL.MASK_FORMER.NUM_FEATURE_LEVELS,
        }

    def forward(self, features: Dict[str, torch.Tensor]) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        multi_scale, y = [], None
        for i, name in enumerate(reversed(self.in_features)):
            x = features[name]
            if i == 0:
                y = self.output_convs[0](x)
            else:
                y = self.lateral_convs[i](x) + F.interpolate(y, size=x.shape[-2:], mode="nearest")
                y = self.output_convs[i](y)
            if len(multi_scale) < self.num_feature_levels:
                multi_scale.append(y)
        return self.mask_features(y), multi_scale
