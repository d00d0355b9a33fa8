"""SFNet's decoder (Li et al., ECCV 2020, "Semantic Flow for Fast and Accurate Scene Parsing") on
HardSeg's per-pixel head contract: PPM on the coarsest level, then an FPN whose top-down path is
aligned by Flow Alignment Modules.

Official code: lxtGH/SFSegNets ``network/nn/operators.py`` (``PSPModule``, ``AlignedModule``)
and ``network/sfnet_resnet.py`` (``UperNetAlignHead``); see docs/models_efficient.md.
"""

from typing import Dict, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.layers import get_norm
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY

from ..shape_spec import as_shape_specs
from ._common import loss_args_from_config
from .per_pixel import PerPixelLossMixin


def conv_bn_relu(cin: int, cout: int, k: int, norm: str) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, 1, k // 2, bias=False), get_norm(norm, cout), nn.ReLU()
    )


class PyramidPooling(nn.Module):
    """Pool to 1, 2, 3, 6 bins, 1x1 conv + norm each, upsample (align_corners=True), concat with
    the input, 1x1 conv + norm + ReLU + Dropout2d(0.1)."""

    def __init__(self, cin: int, cout: int, norm: str, sizes=(1, 2, 3, 6)):
        super().__init__()
        self.stages = nn.ModuleList(
            nn.Sequential(
                nn.AdaptiveAvgPool2d(s), nn.Conv2d(cin, cout, 1, bias=False), get_norm(norm, cout)
            )
            for s in sizes
        )
        self.bottleneck = nn.Sequential(
            nn.Conv2d(cin + len(sizes) * cout, cout, 1, bias=False),
            get_norm(norm, cout),
            nn.ReLU(),
            nn.Dropout2d(0.1),
        )

    def forward(self, x):
        size = x.shape[-2:]
        priors = [
            F.interpolate(stage(x), size=size, mode="bilinear", align_corners=True)
            for stage in self.stages
        ]
        return self.bottleneck(torch.cat(priors + [x], dim=1))


def flow_warp(x: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample ``x`` (N, C, h, w) at an (H, W) grid spanning [-1, 1] plus ``flow`` (N, 2, H, W),
    given in pixels of the output and normalised by (W, H) as the official code does."""
    n, _, out_h, out_w = flow.shape
    ys = torch.linspace(-1.0, 1.0, out_h, device=x.device, dtype=x.dtype)
    xs = torch.linspace(-1.0, 1.0, out_w, device=x.device, dtype=x.dtype)
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)  # (H, W, 2): (x, y)
    norm = torch.tensor([out_w, out_h], device=x.device, dtype=x.dtype)
    grid = grid[None] + flow.permute(0, 2, 3, 1) / norm
    return F.grid_sample(x, grid, mode="bilinear", align_corners=True)


class FlowAlignment(nn.Module):
    """Flow Alignment Module: both maps reduced to C/2 (1x1), the coarse one upsampled; a 3x3 conv
    on their concatenation predicts a 2-channel flow, with which the (unreduced) coarse map is
    warped onto the fine grid. fine (N, C, H, W), coarse (N, C, h, w) -> (N, C, H, W)."""

    def __init__(self, channels: int):
        super().__init__()
        half = channels // 2
        self.down_h = nn.Conv2d(channels, half, 1, bias=False)
        self.down_l = nn.Conv2d(channels, half, 1, bias=False)
        self.flow_make = nn.Conv2d(2 * half, 2, 3, padding=1, bias=False)

    def forward(self, fine, coarse):
        size = fine.shape[-2:]
        h = F.interpolate(self.down_h(coarse), size=size, mode="bilinear", align_corners=True)
        flow = self.flow_make(torch.cat([h, self.down_l(fine)], dim=1))
        return flow_warp(coarse, flow)


@SEM_SEG_HEADS_REGISTRY.register()
class SFNetHead(PerPixelLossMixin, nn.Module):
    """PPM on the last ``in_features`` level; top-down: lateral 1x1 conv+norm+ReLU of each finer
    level plus the flow-aligned coarser output, then a 3x3 conv+norm+ReLU; all levels upsampled to
    the finest (align_corners=True), concatenated, 3x3 conv+norm+ReLU, 1x1 classifier.

    Shapes: ``features[f]`` for 4 levels (strides 4..32) -> logits (N, K, H/4, W/4).
    """

    @configurable
    def __init__(
        self,
        input_shape,
        *,
        num_classes: int,
        in_features: Sequence[str] = ("res2", "res3", "res4", "res5"),
        fpn_dim: int = 128,
        norm: str = "BN",
        loss_type="cross_entropy",
        loss_weight: float = 1.0,
        ignore_value: int = 255,
        predictor_init_std: float = 0.01,
    ):
        super().__init__()
        input_shape = as_shape_specs(input_shape)
        if len(in_features) < 2 or any(f not in input_shape for f in in_features):
            raise ValueError(
                f"SFNetHead reads 2+ levels, finest first; MODEL.SEM_SEG_HEAD.IN_FEATURES = "
                f"{list(in_features)}, backbone outputs {sorted(input_shape)}."
            )
        self.in_features = list(in_features)
        chans = [input_shape[f].channels for f in in_features]
        self.ppm = PyramidPooling(chans[-1], fpn_dim, norm)
        self.fpn_in = nn.ModuleList(conv_bn_relu(c, fpn_dim, 1, norm) for c in chans[:-1])
        self.fpn_out = nn.ModuleList(conv_bn_relu(fpn_dim, fpn_dim, 3, norm) for _ in chans[:-1])
        self.fpn_out_align = nn.ModuleList(FlowAlignment(fpn_dim) for _ in chans[:-1])
        self.conv_last = conv_bn_relu(len(chans) * fpn_dim, fpn_dim, 3, norm)
        self.init_classifier(fpn_dim, num_classes, init_std=predictor_init_std)
        self.align_corners = True
        self.common_stride = input_shape[self.in_features[0]].stride
        self.init_loss(loss_type, loss_weight, ignore_value)

    @classmethod
    def from_config(cls, cfg, input_shape):
        h = cfg.MODEL.SEM_SEG_HEAD
        return {
            **loss_args_from_config(cfg),
            "input_shape": input_shape,
            "in_features": h.IN_FEATURES,
            "fpn_dim": h.CONVS_DIM,
            "norm": h.NORM,
            "predictor_init_std": h.PREDICTOR_INIT_STD,
        }

    def layers(self, features: Dict[str, torch.Tensor], *, return_features: bool = False):
        """``features`` -> logits (N, K, H/4, W/4); with ``return_features`` also
        ``{"pre_classifier": (N, fpn_dim, H/4, W/4)}``."""
        maps = [features[f] for f in self.in_features]
        f = self.ppm(maps[-1])
        levels = [f]
        for i in reversed(range(len(maps) - 1)):
            lateral = self.fpn_in[i](maps[i])
            f = lateral + self.fpn_out_align[i](lateral, f)
            levels.append(self.fpn_out[i](f))
        levels.reverse()  # finest first
        size = levels[0].shape[-2:]
        fused = torch.cat(
            [levels[0]]
            + [
                F.interpolate(x, size=size, mode="bilinear", align_corners=True) for x in levels[1:]
            ],
            dim=1,
        )
        y = self.conv_last(fused)
        logits = self.predictor(y)
        return (logits, {"pre_classifier": y}) if return_features else logits
