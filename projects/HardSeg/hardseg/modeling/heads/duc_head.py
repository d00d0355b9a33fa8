"""Dense upsampling convolution (DUC; Wang et al., WACV 2018, "Understanding Convolution for
Semantic Segmentation"; official code TuSimple/TuSimple-DUC): predict d x d sub-pixel scores per
class at 1/d resolution and rearrange them into a full-resolution map (pixel shuffle), instead of
upsampling class scores bilinearly."""

from typing import Dict

import torch
from torch import nn
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.layers import Conv2d, ShapeSpec, get_norm
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY

from ._common import as_shape_specs, check_in_features, loss_args_from_config
from .per_pixel import PerPixelLossMixin


class PixelShuffleConv(nn.Conv2d):
    """A conv to ``num_classes * upscale**2`` channels followed by ``pixel_shuffle(upscale)``:
    (N, cin, h, w) -> (N, num_classes, h * upscale, w * upscale). ``out_channels`` reports
    ``num_classes``, the channels this module returns, so that code reading a classifier's class
    count (HardSeg's wrapper heads, config checks) sees K."""

    def __init__(self, cin: int, num_classes: int, upscale: int, kernel_size: int = 3):
        super().__init__(cin, num_classes * upscale**2, kernel_size, padding=kernel_size // 2)
        self.upscale = upscale
        self.out_channels = num_classes

    def forward(self, x):
        return F.pixel_shuffle(super().forward(x), self.upscale)


@SEM_SEG_HEADS_REGISTRY.register()
class DUCHead(PerPixelLossMixin, nn.Module):
    """On one feature (N, C, h, w) at stride s: 3x3 conv C -> ``channels`` + norm + ReLU, then
    ``predictor`` (:class:`PixelShuffleConv`, 3x3) to K x d^2 channels shuffled into
    (N, K, h d, w d), d = ``upscale`` (default s: full resolution; ``common_stride`` s / d)."""

    @configurable
    def __init__(
        self,
        input_shape: Dict[str, ShapeSpec],
        *,
        num_classes: int,
        in_feature: str = "res5",
        channels: int = 512,
        upscale: int = 0,
        norm: str = "BN",
        loss_type="cross_entropy",
        loss_weight: float = 1.0,
        ignore_value: int = 255,
    ):
        super().__init__()
        input_shape = as_shape_specs(input_shape)
        check_in_features("DUCHead", [in_feature], input_shape)
        stride = input_shape[in_feature].stride
        upscale = upscale or stride
        if stride % upscale:
            raise ValueError(
                f"MODEL.SEM_SEG_HEAD.DUC_UPSCALE = {upscale} must divide the stride of "
                f"{in_feature!r} ({stride}); 0 means the stride itself."
            )
        self.in_feature = in_feature
        self.common_stride = stride // upscale
        self.init_loss(loss_type, loss_weight, ignore_value)
        self.conv = Conv2d(
            input_shape[in_feature].channels, channels, 3, padding=1, bias=norm == "",
            norm=get_norm(norm, channels), activation=F.relu,
        )  # fmt: skip
        self.predictor = PixelShuffleConv(channels, num_classes, upscale)

    @classmethod
    def from_config(cls, cfg, input_shape):
        h = cfg.MODEL.SEM_SEG_HEAD
        return {
            "input_shape": input_shape,
            "in_feature": h.IN_FEATURES[0],
            "channels": h.CHANNELS,
            "upscale": h.DUC_UPSCALE,
            "norm": h.NORM,
            **loss_args_from_config(cfg),
        }

    @property
    def feature_channels(self) -> Dict[str, int]:
        return {"pre_classifier": self.predictor.in_channels}

    def layers(self, features: Dict[str, torch.Tensor], *, return_features: bool = False):
        """features[in_feature] (N, C, h, w) -> sem_seg_logits (N, K, h d, w d)."""
        y = self.conv(features[self.in_feature])
        logits = self.predictor(y)
        return (logits, {"pre_classifier": y}) if return_features else logits
