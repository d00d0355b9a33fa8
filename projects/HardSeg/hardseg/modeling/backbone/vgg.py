"""VGG-16 (Simonyan & Zisserman 2015) as a detectron2 backbone, with FCN's convolutionalised
classifier (fc6 as a 7x7 conv, fc7 as a 1x1 conv) for FCN-32s/16s/8s."""

from typing import Dict, List, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from detectron2.layers import Conv2d, ShapeSpec, get_norm
from detectron2.modeling import BACKBONE_REGISTRY, Backbone

# Output channels of the convs of each of the five stages of VGG-16 (each stage ends in a 2x2
# max-pool), in units of ``base_channels`` (64 in the paper).
VGG16_STAGES = ((1, 1), (2, 2), (4, 4, 4), (8, 8, 8), (8, 8, 8))


def make_vgg_stages(base_channels: int = 64, norm: str = "", in_channels: int = 3) -> nn.ModuleList:
    """The 13 3x3 convs of VGG-16 as five ``nn.Sequential`` stages of detectron2 ``Conv2d`` (with
    bias, ``norm`` and ReLU; the convs keep their bias with BN, as in torchvision's VGG-16-BN and
    SegNet). The pools are not included."""
    stages = nn.ModuleList()
    cin = in_channels
    for widths in VGG16_STAGES:
        convs = []
        for w in widths:
            cout = w * base_channels
            convs.append(
                Conv2d(
                    cin,
                    cout,
                    kernel_size=3,
                    padding=1,
                    bias=True,
                    norm=get_norm(norm, cout),
                    activation=F.relu,
                )
            )
            cin = cout
        stages.append(nn.Sequential(*convs))
    return stages


class VGG16Backbone(Backbone):
    """VGG-16 (or VGG-16-BN with ``norm="BN"``) returning the pooled stage outputs ``res1`` ..
    ``res5`` (strides 2, 4, 8, 16, 32; channels 1, 2, 4, 8, 8 x ``base_channels``) and, with
    ``fc_channels > 0``, ``fc7`` (stride 32, ``fc_channels``): fc6 is a 7x7 conv (padding 3) and fc7
    a 1x1 conv, each with ReLU and Dropout2d(``fc_dropout``), as FCN convolutionalises them.

    FCN's Caffe model pads conv1_1 by 100 and crops the upsampled scores back; here every conv
    keeps the size and inputs are padded to ``size_divisibility`` (32) instead, so that the score
    maps of pool3/pool4/fc7 align exactly.

    Input (N, 3, H, W) with H, W multiples of 32.
    """

    def __init__(
        self,
        *,
        base_channels: int = 64,
        norm: str = "",
        fc_channels: int = 4096,
        fc_dropout: float = 0.5,
        out_features: Sequence[str] = ("res3", "res4", "fc7"),
        in_channels: int = 3,
    ):
        super().__init__()
        names = ["res1", "res2", "res3", "res4", "res5"] + (["fc7"] if fc_channels else [])
        unknown = [f for f in out_features if f not in names]
        if unknown or not out_features:
            raise ValueError(
                f"MODEL.VGG.OUT_FEATURES = {list(out_features)}: allowed names are {names} "
                "(fc7 only with MODEL.VGG.FC_CHANNELS > 0)."
            )
        self.stages = make_vgg_stages(base_channels, norm, in_channels)
        self._out_features = list(out_features)
        channels = [w[-1] * base_channels for w in VGG16_STAGES]
        self._out_feature_channels = {f"res{i + 1}": c for i, c in enumerate(channels)}
        self._out_feature_strides = {f"res{i + 1}": 2 ** (i + 1) for i in range(5)}
        if fc_channels:
            self.fc6 = nn.Conv2d(channels[-1], fc_channels, kernel_size=7, padding=3)
            self.fc7 = nn.Conv2d(fc_channels, fc_channels, kernel_size=1)
            self.fc_dropout = nn.Dropout2d(fc_dropout) if fc_dropout > 0 else nn.Identity()
            self._out_feature_channels["fc7"] = fc_channels
            self._out_feature_strides["fc7"] = 32
        else:
            self.fc6 = self.fc7 = None

    @property
    def size_divisibility(self) -> int:
        return 32

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        """(N, C, H, W) -> {name: (N, C_name, H / s, W / s)} for the requested names."""
        out = {}
        for i, stage in enumerate(self.stages):
            x = F.max_pool2d(stage(x), kernel_size=2, stride=2)
            out[f"res{i + 1}"] = x
        if self.fc6 is not None and "fc7" in self._out_features:
            x = self.fc_dropout(F.relu(self.fc6(x)))
            out["fc7"] = self.fc_dropout(F.relu(self.fc7(x)))
        return {k: out[k] for k in self._out_features}

    def output_shape(self) -> Dict[str, ShapeSpec]:
        return {
            name: ShapeSpec(
                channels=self._out_feature_channels[name], stride=self._out_feature_strides[name]
            )
            for name in self._out_features
        }


@BACKBONE_REGISTRY.register()
def build_vgg16_backbone(cfg, input_shape):
    """VGG-16 from ``MODEL.VGG.{BASE_CHANNELS, NORM, FC_CHANNELS, FC_DROPOUT, OUT_FEATURES}``."""
    v = cfg.MODEL.VGG
    return VGG16Backbone(
        base_channels=v.BASE_CHANNELS,
        norm=v.NORM,
        fc_channels=v.FC_CHANNELS,
        fc_dropout=v.FC_DROPOUT,
        out_features=list(v.OUT_FEATURES),
        in_channels=input_shape.channels if input_shape is not None else 3,
    )


def vgg16_conv_names(prefix: str = "stages") -> List[str]:
    """Module names of the 13 convs of :func:`make_vgg_stages` in order, e.g. "stages.0.0"."""
    return [
        f"{prefix}.{s}.{j}" for s, widths in enumerate(VGG16_STAGES) for j in range(len(widths))
    ]
