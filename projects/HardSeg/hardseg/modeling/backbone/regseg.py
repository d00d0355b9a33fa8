"""RegSeg's encoder (Gao, 2021: "Rethinking Dilated Convolution for Real-time Semantic
Segmentation"), the "exp48" body, as a detectron2 backbone.

Built from RegNet-style D blocks: 1x1 conv -> grouped 3x3 conv (group width 16) -> SE -> 1x1
conv, with a residual (a 2x2 average pool + 1x1 conv + BN shortcut when the block downsamples or
changes width). In a D block with several dilation rates the channels are split into equal
parts, each convolved with its own rate and concatenated again, so one block sees both local
detail and a wide context. The body stops at stride 16 and enlarges the field of view with
dilations instead: after the stride-16 transition, blocks with rates (1), (1, 2), 4 x (1, 4),
7 x (1, 14), the last one widening to 320 channels.

Outputs ``res2`` (48 channels, stride 4), ``res3`` (128, 8), ``res4`` (320, 16). Module names
follow RolandGao/RegSeg ``blocks.py`` (``stem``, ``stage4``, ``stage8``, ``stage16``). See
docs/models_efficient.md.
"""

from typing import Dict, Sequence

import torch
from torch import nn

from detectron2.layers import ShapeSpec, get_norm
from detectron2.modeling import BACKBONE_REGISTRY, Backbone

__all__ = ["EXP48_DILATIONS", "RegSegBody", "build_regseg_backbone"]

EXP48_DILATIONS = ((1,), (1, 2)) + 4 * ((1, 4),) + 7 * ((1, 14),)


class ConvBnAct(nn.Module):
    def __init__(self, cin, cout, k=1, stride=1, norm="BN", act=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, bias=False)
        self.bn = get_norm(norm, cout)
        self.act = act

    def forward(self, x):
        x = self.bn(self.conv(x))
        return torch.relu(x) if self.act else x


class SEModule(nn.Module):
    """x * sigmoid(conv2(ReLU(conv1(global mean x)))), squeeze width ``w_se``."""

    def __init__(self, w_in, w_se):
        super().__init__()
        self.conv1 = nn.Conv2d(w_in, w_se, 1)
        self.conv2 = nn.Conv2d(w_se, w_in, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.conv2(torch.relu(self.conv1(x.mean((2, 3), keepdim=True)))))


class SplitDilatedConv(nn.Module):
    """Channels split into ``len(dilations)`` equal parts, each a grouped 3x3 conv with its own
    dilation (group width ``group_width``), concatenated back."""

    def __init__(self, w, dilations, group_width, stride):
        super().__init__()
        part = w // len(dilations)
        if w % len(dilations) or part % group_width:
            raise ValueError(
                f"RegSeg D block: width {w} does not split into {len(dilations)} parts of a "
                f"multiple of the group width {group_width}."
            )
        self.convs = nn.ModuleList(
            nn.Conv2d(part, part, 3, stride, d, d, groups=part // group_width, bias=False)
            for d in dilations
        )

    def forward(self, x):
        parts = torch.tensor_split(x, len(self.convs), dim=1)
        return torch.cat([conv(p) for conv, p in zip(self.convs, parts)], dim=1)


class Shortcut(nn.Module):
    def __init__(self, cin, cout, stride, norm):
        super().__init__()
        self.avg = nn.AvgPool2d(2, 2, ceil_mode=True) if stride != 1 else None
        self.conv = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn = get_norm(norm, cout)

    def forward(self, x):
        if self.avg is not None:
            x = self.avg(x)
        return self.bn(self.conv(x))


class DBlock(nn.Module):
    """RegSeg's D block: (N, C_in, H, W) -> (N, C_out, H/s, W/s)."""

    def __init__(self, cin, cout, dilations, group_width=16, stride=1, norm="BN"):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn1 = get_norm(norm, cout)
        if len(dilations) == 1:
            d = dilations[0]
            self.conv2 = nn.Conv2d(
                cout, cout, 3, stride, d, d, groups=cout // group_width, bias=False
            )
        else:
            self.conv2 = SplitDilatedConv(cout, dilations, group_width, stride)
        self.bn2 = get_norm(norm, cout)
        self.se = SEModule(cout, cin // 4)
        self.conv3 = nn.Conv2d(cout, cout, 1, bias=False)
        self.bn3 = get_norm(norm, cout)
        self.shortcut = Shortcut(cin, cout, stride, norm) if stride != 1 or cin != cout else None

    def forward(self, x):
        skip = self.shortcut(x) if self.shortcut is not None else x
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.se(torch.relu(self.bn2(self.conv2(x))))
        return torch.relu(self.bn3(self.conv3(x)) + skip)


class RegSegBody(Backbone):
    """Stem (3x3/2 conv, 32 channels) + the D-block stages. ``forward(images)`` -> the
    ``out_features`` among ``res2`` (48, stride 4), ``res3`` (128, 8), ``res4`` (320, 16).

    Args:
        dilations: rates of the blocks after the stride-16 transition block (the last one
            widens to 320 channels); exp48 by default.
    """

    def __init__(
        self,
        *,
        dilations: Sequence[Sequence[int]] = EXP48_DILATIONS,
        norm: str = "BN",
        out_features: Sequence[str] = ("res2", "res3", "res4"),
    ):
        super().__init__()
        gw = 16
        self.stem = ConvBnAct(3, 32, 3, 2, norm)
        self.stage4 = DBlock(32, 48, [1], gw, 2, norm)
        self.stage8 = nn.Sequential(
            DBlock(48, 128, [1], gw, 2, norm),
            DBlock(128, 128, [1], gw, 1, norm),
            DBlock(128, 128, [1], gw, 1, norm),
        )
        self.stage16 = nn.Sequential(
            DBlock(128, 256, [1], gw, 2, norm),
            *[DBlock(256, 256, list(d), gw, 1, norm) for d in dilations[:-1]],
            DBlock(256, 320, list(dilations[-1]), gw, 1, norm),
        )
        names = ("res2", "res3", "res4")
        unknown = set(out_features) - set(names)
        if unknown:
            raise ValueError(f"MODEL.REGSEG.OUT_FEATURES: {sorted(unknown)} not in {names}.")
        self._out_features = list(out_features)
        self._out_feature_channels = {"res2": 48, "res3": 128, "res4": 320}
        self._out_feature_strides = {"res2": 4, "res3": 8, "res4": 16}

    @property
    def size_divisibility(self) -> int:
        return 16

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        x4 = self.stage4(self.stem(x))
        x8 = self.stage8(x4)
        x16 = self.stage16(x8)
        out = {"res2": x4, "res3": x8, "res4": x16}
        return {k: v for k, v in out.items() if k in self._out_features}

    def output_shape(self) -> Dict[str, ShapeSpec]:
        return {
            n: ShapeSpec(
                channels=self._out_feature_channels[n], stride=self._out_feature_strides[n]
            )
            for n in self._out_features
        }


@BACKBONE_REGISTRY.register()
def build_regseg_backbone(cfg, input_shape: ShapeSpec) -> RegSegBody:
    """RegSeg exp48 body (``MODEL.REGSEG.NORM``, ``MODEL.REGSEG.OUT_FEATURES``)."""
    if input_shape.channels != 3:
        raise ValueError(f"RegSeg's stem takes 3 input channels, got {input_shape.channels}.")
    return RegSegBody(norm=cfg.MODEL.REGSEG.NORM, out_features=cfg.MODEL.REGSEG.OUT_FEATURES)
