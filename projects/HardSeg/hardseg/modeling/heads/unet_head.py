"""The U-Net decoder (Ronneberger et al. 2015), laid out as milesial/Pytorch-UNet's
``unet/unet_model.py``: four up stages, each upsampling x2, concatenating the encoder skip and
applying a double 3x3 conv; a 1x1 classifier at full resolution."""

from typing import Dict, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.layers import ShapeSpec
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY

from ..backbone.unet import double_conv
from ._common import as_shape_specs, check_in_features, loss_args_from_config
from .per_pixel import PerPixelLossMixin


@SEM_SEG_HEADS_REGISTRY.register()
class UNetHead(PerPixelLossMixin, nn.Module):
    """Expanding path over the encoder levels ``enc1`` .. ``enc5`` (strides 1 .. 16).

    Up stage i (from the bottom, input x with C_x channels, skip s with C_s channels):

    * ``bilinear=False``: 2x2 transposed conv C_x -> C_x / 2, concat [s, up(x)], double conv
      -> C_s;
    * ``bilinear=True``: bilinear x2, concat [s, up(x)], double conv (C_s + C_x) -> (C_s + C_x) / 2
      -> C_s / 2 (C_s at the last stage).

    Then ``predictor`` 1x1 -> K logits at stride 1 (``common_stride`` 1). If an upsampled map and
    its skip differ in size (odd sizes), the upsampled map is zero-padded to the skip's size.
    """

    @configurable
    def __init__(
        self,
        input_shape: Dict[str, ShapeSpec],
        *,
        num_classes: int,
        in_features: Sequence[str] = ("enc1", "enc2", "enc3", "enc4", "enc5"),
        bilinear: bool = False,
        norm: str = "BN",
        loss_type="cross_entropy",
        loss_weight: float = 1.0,
        ignore_value: int = 255,
    ):
        super().__init__()
        input_shape = as_shape_specs(input_shape)
        check_in_features("UNetHead", in_features, input_shape)
        self.in_features = list(in_features)
        self.bilinear = bilinear
        self.common_stride = input_shape[in_features[0]].stride
        self.init_loss(loss_type, loss_weight, ignore_value)
        chans = [input_shape[f].channels for f in in_features]
        self.ups = nn.ModuleList()
        self.convs = nn.ModuleList()
        cx = chans[-1]
        for level in range(len(chans) - 2, -1, -1):
            cs = chans[level]
            cout = cs if level == 0 else cs // 2 if bilinear else cs
            if bilinear:
                self.ups.append(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True))
                self.convs.append(double_conv(cs + cx, cout, mid=(cs + cx) // 2, norm=norm))
            else:
                self.ups.append(nn.ConvTranspose2d(cx, cx // 2, kernel_size=2, stride=2))
                self.convs.append(double_conv(cs + cx // 2, cout, norm=norm))
            cx = cout
        self.predictor = nn.Conv2d(cx, num_classes, 1)

    @classmethod
    def from_config(cls, cfg, input_shape):
        return {
            "input_shape": input_shape,
            "in_features": list(cfg.MODEL.SEM_SEG_HEAD.IN_FEATURES),
            "bilinear": cfg.MODEL.UNET.BILINEAR,
            "norm": cfg.MODEL.UNET.NORM,
            **loss_args_from_config(cfg),
        }

    def layers(self, features: Dict[str, torch.Tensor], *, return_features: bool = False):
        """features enc1 (N, c, H, W) .. enc5 (N, 16c, H/16, W/16) -> logits (N, K, H, W)."""
        skips = [features[f] for f in self.in_features]
        x = skips[-1]
        for up, conv, skip in zip(self.ups, self.convs, reversed(skips[:-1])):
            x = up(x)
            dh, dw = skip.shape[-2] - x.shape[-2], skip.shape[-1] - x.shape[-1]
            if dh or dw:
                x = F.pad(x, [dw // 2, dw - dw // 2, dh // 2, dh - dh // 2])
            x = conv(torch.cat([skip, x], dim=1))
        logits = self.predictor(x)
        return (logits, {"pre_classifier": x}) if return_features else logits
