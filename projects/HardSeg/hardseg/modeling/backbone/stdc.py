"""STDC ("Short-Term Dense Concatenate") networks, the encoders of STDC-Seg (Fan et al., CVPR 2021),
as a detectron2 backbone.

After a two-conv stem (stride 4), each stage is a stack of STDC modules. A module runs ``n``
convs in series whose widths halve (C/2, C/4, C/8, C/8 for n = 4; the first is 1x1, the rest
3x3) and concatenates all their outputs into C channels, so small receptive fields keep many
channels and large ones few. The first module of a stage downsamples: a 3x3 depthwise stride-2
conv + BN after the first conv, and the first conv's output is average-pooled (3x3, stride 2)
before the concatenation.

STDC1 ("STDCNet813") has 2/2/2 modules in its three stages, STDC2 ("STDCNet1446") 4/5/3; widths
64 (res2), 256, 512, 1024 (res5) with ``base`` 64. The module list ``features`` and its names
are those of MichaelFan01/STDC-Seg ``nets/stdcnet.py``. See docs/models_efficient.md.
"""

from typing import Dict, Sequence

import torch
from torch import nn

from detectron2.layers import ShapeSpec, get_norm
from detectron2.modeling import BACKBONE_REGISTRY, Backbone

__all__ = ["STDC_VARIANTS", "STDCNet", "build_stdc_backbone"]

STDC_VARIANTS = {"stdc1": (2, 2, 2), "stdc2": (4, 5, 3)}
_NAMES = ("res1", "res2", "res3", "res4", "res5")


class ConvX(nn.Module):
    """conv (no bias) -> norm -> ReLU; attribute names ``conv``/``bn`` as the official ConvX."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, norm: str = "BN"):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False)
        self.bn = get_norm(norm, cout)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)))


class STDCModule(nn.Module):
    """The concatenating STDC module (official ``CatBottleneck``): (N, C_in, H, W) ->
    (N, C_out, H/s, W/s), s = ``stride`` (1 or 2)."""

    def __init__(self, cin: int, cout: int, num_convs: int = 4, stride: int = 1, norm: str = "BN"):
        super().__init__()
        if num_convs < 2:
            raise ValueError(f"an STDC module needs at least 2 convs, got {num_convs}.")
        if stride not in (1, 2):
            raise ValueError(f"STDC module stride must be 1 or 2, got {stride}.")
        self.stride = stride
        widths = [cout // 2] + [cout // 2 ** (i + 1) for i in range(1, num_convs - 1)]
        widths.append(widths[-1])  # the last conv keeps the width of the one before
        if num_convs == 2:
            widths = [cout // 2, cout // 2]
        convs, prev = [], cin
        for i, w in enumerate(widths):
            convs.append(ConvX(prev, w, kernel=1 if i == 0 else 3, norm=norm))
            prev = w
        self.conv_list = nn.ModuleList(convs)
        if stride == 2:
            half = cout // 2
            self.avd_layer = nn.Sequential(
                nn.Conv2d(half, half, 3, 2, 1, groups=half, bias=False), get_norm(norm, half)
            )
            self.skip = nn.AvgPool2d(3, 2, 1)

    def forward(self, x):
        first = self.conv_list[0](x)
        y = self.avd_layer(first) if self.stride == 2 else first
        outs = []
        for conv in self.conv_list[1:]:
            y = conv(y)
            outs.append(y)
        if self.stride == 2:
            first = self.skip(first)
        return torch.cat([first] + outs, dim=1)


class STDCNet(Backbone):
    """STDC encoder. ``forward(images)`` -> the ``out_features`` among ``res1`` (stride 2, base/2
    channels), ``res2`` (4, base), ``res3`` (8, 4 base), ``res4`` (16, 8 base), ``res5`` (32,
    16 base).

    Args:
        layers: STDC modules per stage (res3, res4, res5).
        base: width of res2 (64 officially).
        num_convs: convs per STDC module (4 officially).
        norm: detectron2 norm name.
    """

    def __init__(
        self,
        *,
        layers: Sequence[int] = (2, 2, 2),
        base: int = 64,
        num_convs: int = 4,
        norm: str = "BN",
        out_features: Sequence[str] = ("res3", "res4", "res5"),
        in_channels: int = 3,
    ):
        super().__init__()
        if len(layers) != 3:
            raise ValueError(f"MODEL.STDC layers: 3 stage depths expected, got {list(layers)}.")
        unknown = set(out_features) - set(_NAMES)
        if unknown:
            raise ValueError(f"MODEL.STDC.OUT_FEATURES: {sorted(unknown)} not in {_NAMES}.")
        feats = [ConvX(in_channels, base // 2, 3, 2, norm), ConvX(base // 2, base, 3, 2, norm)]
        self._ends = [1, 2]  # index after the last module of res1, res2, res3, ...
        prev = base
        for i, n in enumerate(layers):
            width = base * 4 * 2**i
            for j in range(n):
                feats.append(STDCModule(prev, width, num_convs, 2 if j == 0 else 1, norm))
                prev = width
            self._ends.append(len(feats))
        self.features = nn.Sequential(*feats)
        self._out_features = list(out_features)
        channels = [base // 2, base] + [base * 4 * 2**i for i in range(3)]
        self._out_feature_channels = dict(zip(_NAMES, channels))
        self._out_feature_strides = {n: 2 ** (i + 1) for i, n in enumerate(_NAMES)}
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")

    @property
    def size_divisibility(self) -> int:
        return 32

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        out, start = {}, 0
        for name, end in zip(_NAMES, self._ends):
            x = self.features[start:end](x)
            start = end
            if name in self._out_features:
                out[name] = x
        return out

    def output_shape(self) -> Dict[str, ShapeSpec]:
        return {
            n: ShapeSpec(
                channels=self._out_feature_channels[n], stride=self._out_feature_strides[n]
            )
            for n in self._out_features
        }


@BACKBONE_REGISTRY.register()
def build_stdc_backbone(cfg, input_shape: ShapeSpec) -> STDCNet:
    """STDC from ``MODEL.STDC`` (``VARIANT`` "stdc1"/"stdc2", ``BASE``, ``NUM_CONVS``, ``NORM``,
    ``OUT_FEATURES``)."""
    s = cfg.MODEL.STDC
    if s.VARIANT not in STDC_VARIANTS:
        raise ValueError(
            f"MODEL.STDC.VARIANT={s.VARIANT!r}; expected one of {list(STDC_VARIANTS)}."
        )
    return STDCNet(
        layers=STDC_VARIANTS[s.VARIANT],
        base=s.BASE,
        num_convs=s.NUM_CONVS,
        norm=s.NORM,
        out_features=s.OUT_FEATURES,
        in_channels=input_shape.channels,
    )
