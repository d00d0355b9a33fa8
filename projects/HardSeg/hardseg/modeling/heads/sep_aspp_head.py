"""mmseg's DeepLabV3+ decode head (``DepthwiseSeparableASPPHead``), the HL paper's DeepLabV3+.

See docs/methods/hl.md §8.4: the official DeepLabV3+ HL run (mmseg 0.22
``deeplabv3plus_r101-d8_769x769_40k_cityscapes``) uses this head, which differs from detectron2's
DeepLabV3+ head (a 3x3 bottleneck over the five ASPP branches, two depthwise-separable 3x3 fuse
convs, one dropout before the classifier, ``align_corners`` resizes).
"""

from typing import Dict, Sequence

import fvcore.nn.weight_init as weight_init
import torch
from torch import nn
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.layers import Conv2d, ShapeSpec, get_norm
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY

from ..losses import loss_spec_from_config
from ._common import as_shape_specs
from .per_pixel import PerPixelLossMixin


def _conv(cin: int, cout: int, k: int, norm: str, *, dilation: int = 1, groups: int = 1):
    """k x k conv (no bias when normed) + norm + ReLU, 'same' padding; MSRA-initialised."""
    conv = Conv2d(
        cin,
        cout,
        kernel_size=k,
        padding=dilation * (k // 2),
        dilation=dilation,
        groups=groups,
        bias=norm == "",
        norm=get_norm(norm, cout),
        activation=F.relu,
    )
    weight_init.c2_msra_fill(conv)
    return conv


class SeparableConv(nn.Module):
    """mmcv's depthwise-separable conv: ``depthwise_conv`` (k x k, one filter per channel, norm,
    ReLU) then ``pointwise_conv`` (1x1 cin -> cout, norm, ReLU). (N, cin, h, w) -> (N, cout, h, w).
    """

    def __init__(self, cin: int, cout: int, k: int, norm: str, dilation: int = 1):
        super().__init__()
        self.depthwise_conv = _conv(cin, cin, k, norm, dilation=dilation, groups=cin)
        self.pointwise_conv = _conv(cin, cout, 1, norm)

    def forward(self, x):
        return self.pointwise_conv(self.depthwise_conv(x))


@SEM_SEG_HEADS_REGISTRY.register()
class DepthwiseSeparableASPPHead(PerPixelLossMixin, nn.Module):
    """mmseg's DeepLabV3+ head, under HardSeg's per-pixel head contract.

    On ``x = features[in_feature]`` (N, C, h, w) (res5) and ``c1 = features[low_feature]``
    (N, C1, 2h, 2w) (res2):

    * ``image_pool``: global average pool, 1x1 conv C -> ``channels`` (norm, ReLU), resized back
      to h x w; ``aspp_modules``: a 1x1 conv and, for each d in ``dilations``, a depthwise-separable
      3x3 conv of dilation d, each C -> ``channels``;
    * ``bottleneck``: 3x3 conv on the 5 branches (5 * ``channels``) -> ``channels``, resized to
      c1's size; ``c1_bottleneck``: 1x1 conv C1 -> ``c1_channels``;
    * ``sep_bottleneck``: two depthwise-separable 3x3 convs on [x, c1] -> ``channels``;
      Dropout2d(``dropout``); 1x1 ``predictor`` -> ``sem_seg_logits`` (N, K, 2h, 2w).

    Every conv but ``predictor`` has norm + ReLU and no bias; every resize is bilinear with
    ``align_corners`` (mmseg's 769 configs: True). Module names follow mmseg's, so the converter
    only renames ``conv``/``bn`` (tools/convert_mmseg_checkpoint.py).
    """

    @configurable
    def __init__(
        self,
        input_shape: Dict[str, ShapeSpec],
        *,
        num_classes: int,
        in_feature: str = "res5",
        low_feature: str = "res2",
        channels: int = 512,
        c1_channels: int = 48,
        dilations: Sequence[int] = (12, 24, 36),
        dropout: float = 0.1,
        norm: str = "BN",
        align_corners: bool = False,
        loss_type="cross_entropy",
        loss_weight: float = 1.0,
        ignore_value: int = 255,
        predictor_init_std: float = 0.01,
    ):
        """
        Args:
            input_shape: backbone output shapes; ``in_feature`` and ``low_feature`` are read.
            num_classes: K.
            channels: of every ASPP branch, the bottleneck and the fuse convs (mmseg 512).
            c1_channels: of the low-level projection (mmseg 48).
            dilations: of the separable ASPP branches (a 1x1 branch always comes first).
            Other arguments as :class:`PSPNetHead`'s.
        """
        super().__init__()
        input_shape = as_shape_specs(input_shape)
        for f in (in_feature, low_feature):
            if f not in input_shape:
                raise ValueError(
                    f"DepthwiseSeparableASPPHead reads {f!r} but the backbone gives "
                    f"{sorted(input_shape)}; add it to MODEL.RESNETS.OUT_FEATURES."
                )
        cin = input_shape[in_feature].channels
        c1_in = input_shape[low_feature].channels
        self.in_feature, self.low_feature = in_feature, low_feature
        self.align_corners = align_corners
        self.common_stride = input_shape[low_feature].stride
        self.init_loss(loss_type, loss_weight, ignore_value)

        self.image_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), _conv(cin, channels, 1, norm))
        self.aspp_modules = nn.ModuleList(
            [_conv(cin, channels, 1, norm)]
            + [SeparableConv(cin, channels, 3, norm, dilation=int(d)) for d in dilations]
        )
        self.bottleneck = _conv((len(dilations) + 2) * channels, channels, 3, norm)
        self.c1_bottleneck = _conv(c1_in, c1_channels, 1, norm)
        self.sep_bottleneck = nn.Sequential(
            SeparableConv(channels + c1_channels, channels, 3, norm),
            SeparableConv(channels, channels, 3, norm),
        )
        self.init_classifier(channels, num_classes, dropout=dropout, init_std=predictor_init_std)

    @classmethod
    def from_config(cls, cfg, input_shape):
        h = cfg.MODEL.SEM_SEG_HEAD
        if len(h.IN_FEATURES) != 2 or len(h.PROJECT_CHANNELS) != 1:
            raise ValueError(
                "DepthwiseSeparableASPPHead reads MODEL.SEM_SEG_HEAD.IN_FEATURES = [low, high] "
                f"(e.g. ['res2', 'res5']) and one PROJECT_CHANNELS; got {h.IN_FEATURES} and "
                f"{h.PROJECT_CHANNELS}."
            )
        return {
            "input_shape": input_shape,
            "num_classes": h.NUM_CLASSES,
            "in_feature": h.IN_FEATURES[1],
            "low_feature": h.IN_FEATURES[0],
            "channels": h.ASPP_CHANNELS,
            "c1_channels": h.PROJECT_CHANNELS[0],
            "dilations": tuple(h.ASPP_DILATIONS),
            "dropout": h.DROPOUT,
            "norm": h.NORM,
            "align_corners": h.ALIGN_CORNERS,
            "loss_type": loss_spec_from_config(cfg),
            "loss_weight": h.LOSS_WEIGHT,
            "ignore_value": h.IGNORE_VALUE,
            "predictor_init_std": h.PREDICTOR_INIT_STD,
        }

    def _resize(self, x, size):
        return F.interpolate(x, size=size, mode="bilinear", align_corners=self.align_corners)

    def layers(self, features: Dict[str, torch.Tensor], *, return_features: bool = False):
        """features -> sem_seg_logits (N, K, H/s, W/s), s = the low feature's stride; with
        ``return_features``, also ``{"pre_classifier": (N, channels, H/s, W/s)}``."""
        x = features[self.in_feature]
        size = x.shape[-2:]
        branches = [self._resize(self.image_pool(x), size)] + [m(x) for m in self.aspp_modules]
        y = self.bottleneck(torch.cat(branches, dim=1))
        c1 = self.c1_bottleneck(features[self.low_feature])
        y = self.sep_bottleneck(torch.cat([self._resize(y, c1.shape[-2:]), c1], dim=1))
        y = self.dropout(y)
        logits = self.predictor(y)
        return (logits, {"pre_classifier": y}) if return_features else logits
