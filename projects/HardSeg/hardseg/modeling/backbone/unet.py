"""The U-Net encoder (Ronneberger et al. 2015), laid out as milesial/Pytorch-UNet's
``unet/unet_parts.py`` (padded 3x3 convs with BN, so the output keeps the input size)."""

from typing import Dict

import torch
from torch import nn
from torch.nn import functional as F

from detectron2.layers import Conv2d, ShapeSpec, get_norm
from detectron2.modeling import BACKBONE_REGISTRY, Backbone


def double_conv(cin: int, cout: int, mid: int = None, norm: str = "BN") -> nn.Sequential:
    """Two 3x3 convs (padding 1) with norm and ReLU: cin -> mid -> cout (mid defaults to cout)."""
    mid = mid or cout
    return nn.Sequential(
        Conv2d(
            cin, mid, 3, padding=1, bias=norm == "", norm=get_norm(norm, mid), activation=F.relu
        ),
        Conv2d(
            mid, cout, 3, padding=1, bias=norm == "", norm=get_norm(norm, cout), activation=F.relu
        ),
    )


class UNetEncoder(Backbone):
    """Contracting path: a double conv to ``base_channels`` (``enc1``, stride 1), then four times a
    2x2 max-pool and a double conv doubling the channels (``enc2`` .. ``enc5``, strides 2 .. 16,
    64 -> 1024 channels with base 64). With ``bilinear`` (the decoder upsamples bilinearly instead
    of with transposed convs) the bottom level has half the channels, as in Pytorch-UNet.

    Input (N, C, H, W) with H, W multiples of 16.
    """

    def __init__(
        self, *, base_channels: int = 64, bilinear: bool = False, norm: str = "BN", in_channels=3
    ):
        super().__init__()
        widths = [base_channels * 2**i for i in range(5)]
        if bilinear:
            widths[4] //= 2
        self.blocks = nn.ModuleList()
        cin = in_channels
        for w in widths:
            self.blocks.append(double_conv(cin, w, norm=norm))
            cin = w
        self._widths = widths

    @property
    def size_divisibility(self) -> int:
        return 16

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        """(N, C, H, W) -> {"enc1": (N, c, H, W), ..., "enc5": (N, 16c or 8c, H/16, W/16)}."""
        out = {}
        for i, block in enumerate(self.blocks):
            if i:
                x = F.max_pool2d(x, 2)
            x = block(x)
            out[f"enc{i + 1}"] = x
        return out

    def output_shape(self) -> Dict[str, ShapeSpec]:
        return {
            f"enc{i + 1}": ShapeSpec(channels=w, stride=2**i) for i, w in enumerate(self._widths)
        }


@BACKBONE_REGISTRY.register()
def build_unet_encoder_backbone(cfg, input_shape):
    """:class:`UNetEncoder` from ``MODEL.UNET.{BASE_CHANNELS, BILINEAR, NORM}``."""
    u = cfg.MODEL.UNET
    return UNetEncoder(
        base_channels=u.BASE_CHANNELS,
        bilinear=u.BILINEAR,
        norm=u.NORM,
        in_channels=input_shape.channels if input_shape is not None else 3,
    )
