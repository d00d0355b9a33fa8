"""UPerNet's decode head (Xiao et al., ECCV 2018, "Unified Perceptual Parsing"), laid out as
open-mmlab/mmsegmentation ``mmseg/models/decode_heads/uper_head.py``: a pyramid pooling module on
the last stage, an FPN top-down path, all levels fused at the finest stride."""

from typing import Dict, Sequence

import fvcore.nn.weight_init as weight_init
import torch
from torch import nn
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.layers import Conv2d, ShapeSpec, get_norm
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY

from ._common import as_shape_specs, check_in_features, loss_args_from_config
from .per_pixel import PerPixelLossMixin


@SEM_SEG_HEADS_REGISTRY.register()
class UPerNetHead(PerPixelLossMixin, nn.Module):
    """On features res2..res5 (any 4-level backbone), every conv with norm and ReLU:

    * PPM on the last level x (C5): for each pool scale s, adaptive-average-pool to s x s, 1x1 conv
      -> ``channels``, resize back; 3x3 ``bottleneck`` on [x, branches] -> ``channels``;
    * FPN: 1x1 lateral convs on the other levels, top-down sum with bilinear resizes, a 3x3 conv
      per level (not the PPM level);
    * resize every level to the finest, concat (4 x ``channels``), 3x3 ``fpn_bottleneck``,
      Dropout2d, ``predictor`` 1x1 -> K at the finest stride (``common_stride``).

    The auxiliary FCN head on res4 (mmseg's weight 0.4) is ``MODEL.AUX_HEAD`` of
    :class:`~hardseg.modeling.meta_arch.HardSegmentor`.
    """

    @configurable
    def __init__(
        self,
        input_shape: Dict[str, ShapeSpec],
        *,
        num_classes: int,
        in_features: Sequence[str] = ("res2", "res3", "res4", "res5"),
        channels: int = 512,
        pool_scales: Sequence[int] = (1, 2, 3, 6),
        dropout: float = 0.1,
        norm: str = "BN",
        align_corners: bool = False,
        loss_type="cross_entropy",
        loss_weight: float = 1.0,
        ignore_value: int = 255,
        predictor_init_std: float = 0.01,
    ):
        super().__init__()
        input_shape = as_shape_specs(input_shape)
        check_in_features("UPerNetHead", in_features, input_shape)
        self.in_features = list(in_features)
        self.pool_scales = tuple(int(s) for s in pool_scales)
        self.align_corners = align_corners
        self.common_stride = input_shape[in_features[0]].stride
        self.init_loss(loss_type, loss_weight, ignore_value)
        chans = [input_shape[f].channels for f in in_features]

        def conv(cin, k):
            c = Conv2d(cin, channels, k, padding=k // 2, bias=norm == "",
                       norm=get_norm(norm, channels), activation=F.relu)  # fmt: skip
            weight_init.c2_msra_fill(c)
            return c

        self.ppm = nn.ModuleList(conv(chans[-1], 1) for _ in self.pool_scales)
        self.bottleneck = conv(chans[-1] + len(self.pool_scales) * channels, 3)
        self.lateral_convs = nn.ModuleList(conv(c, 1) for c in chans[:-1])
        self.fpn_convs = nn.ModuleList(conv(channels, 3) for _ in chans[:-1])
        self.fpn_bottleneck = conv(len(chans) * channels, 3)
        self.init_classifier(channels, num_classes, dropout=dropout, init_std=predictor_init_std)

    @classmethod
    def from_config(cls, cfg, input_shape):
        h = cfg.MODEL.SEM_SEG_HEAD
        return {
            "input_shape": input_shape,
            "in_features": list(h.IN_FEATURES),
            "channels": h.CHANNELS,
            "pool_scales": list(h.POOL_SCALES),
            "dropout": h.DROPOUT,
            "norm": h.NORM,
            "align_corners": h.ALIGN_CORNERS,
            "predictor_init_std": h.PREDICTOR_INIT_STD,
            **loss_args_from_config(cfg),
        }

    def _resize(self, x, size):
        return F.interpolate(x, size=size, mode="bilinear", align_corners=self.align_corners)

    def layers(self, features: Dict[str, torch.Tensor], *, return_features: bool = False):
        """res2 (N, C2, H/4, W/4) .. res5 (N, C5, H/32, W/32) -> logits (N, K, H/4, W/4)."""
        xs = [features[f] for f in self.in_features]
        top = xs[-1]
        branches = [top] + [
            self._resize(conv(F.adaptive_avg_pool2d(top, s)), top.shape[-2:])
            for s, conv in zip(self.pool_scales, self.ppm)
        ]
        laterals = [conv(x) for conv, x in zip(self.lateral_convs, xs[:-1])]
        laterals.append(self.bottleneck(torch.cat(branches, dim=1)))
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + self._resize(
                laterals[i], laterals[i - 1].shape[-2:]
            )
        outs = [conv(x) for conv, x in zip(self.fpn_convs, laterals[:-1])] + [laterals[-1]]
        size = outs[0].shape[-2:]
        y = self.fpn_bottleneck(torch.cat([outs[0]] + [self._resize(o, size) for o in outs[1:]], 1))
        y = self.dropout(y)
        logits = self.predictor(y)
        return (logits, {"pre_classifier": y}) if return_features else logits
