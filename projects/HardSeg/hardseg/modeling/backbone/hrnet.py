"""HRNetV2 backbone (W18 / W32 / W48), the mmseg 0.28 ``HRNet`` layout.

Four stages: a stem of two stride-2 3x3 convs (64 channels), stage 1 = four bottlenecks (256
channels), then stages 2-4 with 2, 3 and 4 parallel branches of widths W, 2W, 4W, 8W, each branch
four basic blocks per module, modules exchanging information through fuse layers (1, 4 and 3
modules). Outputs ``hr1``..``hr4`` at strides 4, 8, 16, 32.

Module and attribute names follow mmseg's (``conv1``, ``bn1``, ``layer1``, ``transition1``,
``stage2.0.branches.0.0.conv1``, ``fuse_layers``...), so mmseg and ImageNet HRNetV2 checkpoints
load after :mod:`hardseg.checkpoint.mmseg_hrnet` renames only the model prefixes. References:
``mmseg/models/backbones/hrnet.py`` of CVIU-CSU/Confidence-Aware-Contrastive-Loss @278b0ec
(docs/methods/cac.md §3).
"""

from typing import List, Optional, Sequence

from torch import nn
from torch.nn import functional as F

from detectron2.layers import ShapeSpec, get_norm
from detectron2.modeling import BACKBONE_REGISTRY, Backbone

__all__ = ["HRNet", "build_hrnet_backbone", "HRNET_WIDTHS"]

HRNET_WIDTHS = (18, 32, 48)


def _conv_bn(cin, cout, kernel, stride, norm, relu):
    layers = [
        nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2, bias=False),
        get_norm(norm, cout),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    """Two 3x3 convs with norm; identity (or 1x1 conv + norm) shortcut; ReLU after the sum."""

    expansion = 1

    def __init__(self, cin, planes, norm, downsample: Optional[nn.Module] = None):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, padding=1, bias=False)
        self.bn1 = get_norm(norm, planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = get_norm(norm, planes)
        self.downsample = downsample

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    """1x1 -> 3x3 -> 1x1 (x4 channels) with norms; shortcut as :class:`BasicBlock`."""

    expansion = 4

    def __init__(self, cin, planes, norm, downsample: Optional[nn.Module] = None):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = get_norm(norm, planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = get_norm(norm, planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = get_norm(norm, planes * 4)
        self.downsample = downsample

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


def _blocks(block, cin, planes, count, norm):
    downsample = None
    if cin != planes * block.expansion:
        downsample = _conv_bn(cin, planes * block.expansion, 1, 1, norm, relu=False)
    layers = [block(cin, planes, norm, downsample)]
    layers += [block(planes * block.expansion, planes, norm) for _ in range(count - 1)]
    return nn.Sequential(*layers)


class HRModule(nn.Module):
    """Parallel branches of basic blocks, then every output branch i sums all inputs brought to
    its resolution: j > i by 1x1 conv + norm and bilinear upsampling, j < i by (i - j) stride-2
    3x3 convs (ReLU between them); ReLU after the sum."""

    def __init__(self, channels: Sequence[int], norm: str, num_blocks: int = 4):
        super().__init__()
        n = len(channels)
        self.branches = nn.ModuleList(_blocks(BasicBlock, c, c, num_blocks, norm) for c in channels)
        self.fuse_layers = None
        if n > 1:
            self.fuse_layers = nn.ModuleList()
            for i in range(n):
                row = nn.ModuleList()
                for j in range(n):
                    if j > i:
                        row.append(_conv_bn(channels[j], channels[i], 1, 1, norm, relu=False))
                    elif j == i:
                        row.append(nn.Identity())
                    else:
                        steps = [
                            _conv_bn(channels[j], channels[j], 3, 2, norm, relu=True)
                            for _ in range(i - j - 1)
                        ]
                        steps.append(_conv_bn(channels[j], channels[i], 3, 2, norm, relu=False))
                        row.append(nn.Sequential(*steps))
                self.fuse_layers.append(row)

    def forward(self, xs: List):
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        if self.fuse_layers is None:
            return xs
        out = []
        for i, row in enumerate(self.fuse_layers):
            y = xs[i]
            for j, layer in enumerate(row):
                if j > i:
                    up = layer(xs[j])
                    y = y + F.interpolate(
                        up, size=xs[i].shape[-2:], mode="bilinear", align_corners=False
                    )
                elif j < i:
                    y = y + layer(xs[j])
            out.append(F.relu(y))
        return out


class HRNet(Backbone):
    """HRNetV2-W``width``: (N, 3, H, W) -> ``{"hr1": (N, W, H/4, W/4), "hr2": (N, 2W, H/8, ..),
    "hr3": (N, 4W, H/16, ..), "hr4": (N, 8W, H/32, ..)}``. ``stage_modules`` = modules of stages
    2-4 (1, 4, 3 in HRNetV2)."""

    def __init__(self, width: int = 48, norm: str = "BN", stage_modules=(1, 4, 3)):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, 2, padding=1, bias=False)
        self.bn1 = get_norm(norm, 64)
        self.conv2 = nn.Conv2d(64, 64, 3, 2, padding=1, bias=False)
        self.bn2 = get_norm(norm, 64)
        self.layer1 = _blocks(Bottleneck, 64, 64, 4, norm)
        previous = [256]
        for s, modules in enumerate(stage_modules, start=2):
            channels = [width * 2**i for i in range(s)]
            setattr(self, f"transition{s - 1}", self._transition(previous, channels, norm))
            setattr(
                self,
                f"stage{s}",
                nn.Sequential(*(HRModule(channels, norm) for _ in range(modules))),
            )
            previous = channels
        self._out_features = [f"hr{i + 1}" for i in range(4)]
        self._out_feature_channels = {f"hr{i + 1}": width * 2**i for i in range(4)}
        self._out_feature_strides = {f"hr{i + 1}": 4 * 2**i for i in range(4)}
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    @staticmethod
    def _transition(previous: List[int], channels: List[int], norm: str) -> nn.ModuleList:
        """Branch i < len(previous): a 3x3 conv if the width changes, else identity; a new branch:
        stride-2 3x3 convs from the last previous branch."""
        layers = nn.ModuleList()
        for i, c in enumerate(channels):
            if i < len(previous):
                changed = previous[i] != c
                layers.append(_conv_bn(previous[i], c, 3, 1, norm, True) if changed else None)
            else:
                last = previous[-1]
                steps = [
                    _conv_bn(last, c if k == i - len(previous) else last, 3, 2, norm, True)
                    for k in range(i + 1 - len(previous))
                ]
                layers.append(nn.Sequential(*steps))
        return layers

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        xs = [self.layer1(x)]
        for s in (2, 3, 4):
            transition = getattr(self, f"transition{s - 1}")
            new = []
            for i, layer in enumerate(transition):
                source = xs[i] if i < len(xs) else xs[-1]
                new.append(source if layer is None else layer(source))
            xs = getattr(self, f"stage{s}")(new)
        return {f"hr{i + 1}": x for i, x in enumerate(xs)}

    def output_shape(self):
        return {
            n: ShapeSpec(
                channels=self._out_feature_channels[n], stride=self._out_feature_strides[n]
            )
            for n in self._out_features
        }

    @property
    def size_divisibility(self) -> int:
        return 32


@BACKBONE_REGISTRY.register()
def build_hrnet_backbone(cfg, input_shape):
    """``MODEL.HRNET.WIDTH`` (18, 32 or 48) and ``MODEL.HRNET.NORM`` ("" -> MODEL.RESNETS.NORM)."""
    width = cfg.MODEL.HRNET.WIDTH
    if width not in HRNET_WIDTHS:
        raise ValueError(f"MODEL.HRNET.WIDTH={width}; HRNetV2 comes in widths {HRNET_WIDTHS}.")
    if input_shape.channels != 3:
        raise ValueError(f"HRNet takes 3-channel images, got {input_shape.channels} channels.")
    return HRNet(width, cfg.MODEL.HRNET.NORM or cfg.MODEL.RESNETS.NORM)
