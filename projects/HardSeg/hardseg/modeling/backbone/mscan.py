"""MSCAN, SegNeXt's convolutional encoder (Guo et al., NeurIPS 2022), as a detectron2 backbone.

A four-stage pyramid (strides 4, 8, 16, 32) whose blocks replace self-attention by multi-scale
convolutional attention: a 5x5 depthwise conv, then three depthwise strip-conv branches (1x7 + 7x1,
1x11 + 11x1, 1x21 + 21x1) summed with it, mixed by a 1x1 conv; the result multiplies the block's
input element-wise. Each block is ``x + ls1 * attn(BN x)`` then ``x + ls2 * ffn(BN x)`` with
learned per-channel layer scales (init 0.01) and stochastic depth; the feed-forward is 1x1 -> 3x3
depthwise -> GELU -> 1x1. The first stage's embedding is two stride-2 3x3 convs (BN, GELU
between); later ones a 3x3 stride-2 conv + BN. Every stage ends with a LayerNorm over channels.

Module names follow the official release (Visual-Attention-Network/SegNeXt,
``mmseg/models/backbones/mscan.py``), so its checkpoints load by name. See
docs/models_efficient.md. The stage scaffolding is
:class:`hardseg.modeling.backbone.pyramid.PyramidEncoder`, shared with MiT.
"""

from typing import Sequence

import torch
from torch import nn

from detectron2.layers import ShapeSpec, get_norm
from detectron2.modeling import BACKBONE_REGISTRY

from .drop_path import DropPath
from .pyramid import STAGE_NAMES, PyramidEncoder, init_weights

__all__ = ["MSCAN_VARIANTS", "MSCAN", "build_mscan_backbone"]

# Official configs (SegNeXt local_configs/segnext/{tiny,small,base,large}): dims, depths, drop path.
MSCAN_VARIANTS = {
    "t": dict(embed_dims=(32, 64, 160, 256), depths=(3, 3, 5, 2), drop_path_rate=0.1),
    "s": dict(embed_dims=(64, 128, 320, 512), depths=(2, 2, 4, 2), drop_path_rate=0.1),
    "b": dict(embed_dims=(64, 128, 320, 512), depths=(3, 3, 12, 3), drop_path_rate=0.1),
    "l": dict(embed_dims=(64, 128, 320, 512), depths=(3, 5, 27, 3), drop_path_rate=0.3),
}


class MultiScaleConvAttention(nn.Module):
    """(N, C, H, W) -> attention map (N, C, H, W) multiplied onto the input."""

    def __init__(self, dim: int):
        super().__init__()
        self.conv0 = nn.Conv2d(dim, dim, 5, padding=2, groups=dim)
        for i, k in enumerate((7, 11, 21)):
            self.add_module(
                f"conv{i}_1", nn.Conv2d(dim, dim, (1, k), padding=(0, k // 2), groups=dim)
            )
            self.add_module(
                f"conv{i}_2", nn.Conv2d(dim, dim, (k, 1), padding=(k // 2, 0), groups=dim)
            )
        self.conv3 = nn.Conv2d(dim, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.conv0(x)
        branches = a
        for i in range(3):
            branches = branches + getattr(self, f"conv{i}_2")(getattr(self, f"conv{i}_1")(a))
        return self.conv3(branches) * x


class SpatialAttention(nn.Module):
    """1x1 -> GELU -> multi-scale conv attention -> 1x1, plus the input."""

    def __init__(self, dim: int):
        super().__init__()
        self.proj_1 = nn.Conv2d(dim, dim, 1)
        self.spatial_gating_unit = MultiScaleConvAttention(dim)
        self.proj_2 = nn.Conv2d(dim, dim, 1)

    def forward(self, x):
        return self.proj_2(self.spatial_gating_unit(nn.functional.gelu(self.proj_1(x)))) + x


class ConvFFN(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Conv2d(dim, hidden, 1)
        self.dwconv = nn.Module()  # official key: mlp.dwconv.dwconv.*
        self.dwconv.dwconv = nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden)
        self.fc2 = nn.Conv2d(hidden, dim, 1)

    def forward(self, x):
        return self.fc2(nn.functional.gelu(self.dwconv.dwconv(self.fc1(x))))


class MSCANBlock(nn.Module):
    def __init__(self, dim: int, mlp_ratio: float, drop_path: float, norm: str):
        super().__init__()
        self.norm1 = get_norm(norm, dim)
        self.attn = SpatialAttention(dim)
        self.drop_path = DropPath(drop_path)
        self.norm2 = get_norm(norm, dim)
        self.mlp = ConvFFN(dim, int(dim * mlp_ratio))
        self.layer_scale_1 = nn.Parameter(torch.full((dim,), 1e-2))
        self.layer_scale_2 = nn.Parameter(torch.full((dim,), 1e-2))

    def forward(self, x):
        x = x + self.drop_path(self.layer_scale_1[:, None, None] * self.attn(self.norm1(x)))
        return x + self.drop_path(self.layer_scale_2[:, None, None] * self.mlp(self.norm2(x)))


class ConvEmbed(nn.Module):
    """Stride-2 3x3 conv + norm (stages 2-4): ``proj``, ``norm`` as the official names."""

    def __init__(self, in_channels: int, out_channels: int, norm: str):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, out_channels, 3, 2, 1)
        self.norm = get_norm(norm, out_channels)

    def forward(self, x):
        return self.norm(self.proj(x))


class StemEmbed(nn.Module):
    """Two stride-2 3x3 convs (C/2 then C channels), norm after each, GELU between: ``proj``."""

    def __init__(self, in_channels: int, out_channels: int, norm: str):
        super().__init__()
        half = out_channels // 2
        self.proj = nn.Sequential(
            nn.Conv2d(in_channels, half, 3, 2, 1),
            get_norm(norm, half),
            nn.GELU(),
            nn.Conv2d(half, out_channels, 3, 2, 1),
            get_norm(norm, out_channels),
        )

    def forward(self, x):
        return self.proj(x)


class MSCAN(PyramidEncoder):
    """MSCAN encoder: ``forward(images (N, 3, H, W))`` -> ``{"res2": (N, C_0, H/4, W/4), ...,
    "res5": (N, C_3, H/32, W/32)}`` for the names in ``out_features``.

    Args:
        embed_dims, depths, mlp_ratios: per stage.
        drop_path_rate: stochastic depth of the last block (linear from 0).
        norm: detectron2 norm name of the convolutional norms ("SyncBN" officially).
    """

    def __init__(
        self,
        *,
        embed_dims: Sequence[int] = (32, 64, 160, 256),
        depths: Sequence[int] = (3, 3, 5, 2),
        mlp_ratios: Sequence[float] = (8, 8, 4, 4),
        drop_path_rate: float = 0.1,
        norm: str = "SyncBN",
        out_features: Sequence[str] = STAGE_NAMES,
        in_channels: int = 3,
    ):
        super().__init__(
            "MSCAN", out_features, EMBED_DIMS=embed_dims, DEPTHS=depths, MLP_RATIOS=mlp_ratios
        )

        def embed(stage, cin, cout):  # two stride-2 convs for the first stage, one after
            return (StemEmbed if stage == 0 else ConvEmbed)(cin, cout, norm)

        def block(stage, rate):
            return MSCANBlock(embed_dims[stage], mlp_ratios[stage], rate, norm)

        self.add_stages(in_channels, embed_dims, depths, drop_path_rate, embed, block, nn.LayerNorm)
        self.apply(init_weights)
        for (
            m
        ) in self.modules():  # init_weights resets nothing of the layer scales; keep them at 0.01
            if isinstance(m, MSCANBlock):
                nn.init.constant_(m.layer_scale_1, 1e-2)
                nn.init.constant_(m.layer_scale_2, 1e-2)

    def stage(self, i: int, x: torch.Tensor) -> torch.Tensor:
        """Patch embedding and blocks on maps, then the stage's LayerNorm over channels."""
        x = getattr(self, f"patch_embed{i}")(x)
        for block in getattr(self, f"block{i}"):
            x = block(x)
        return getattr(self, f"norm{i}")(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def mscan_args_from_config(cfg) -> dict:
    """``MSCAN`` arguments from ``MODEL.MSCAN``: the ``VARIANT``'s sizes, ``EMBED_DIMS`` /
    ``DEPTHS`` overriding them when not empty, and ``DROP_PATH_RATE`` when >= 0."""
    m = cfg.MODEL.MSCAN
    if m.VARIANT not in MSCAN_VARIANTS:
        raise ValueError(
            f"MODEL.MSCAN.VARIANT={m.VARIANT!r}; expected one of {list(MSCAN_VARIANTS)}."
        )
    args = dict(MSCAN_VARIANTS[m.VARIANT])
    if len(m.EMBED_DIMS):
        args["embed_dims"] = tuple(m.EMBED_DIMS)
    if len(m.DEPTHS):
        args["depths"] = tuple(m.DEPTHS)
    if m.DROP_PATH_RATE >= 0:
        args["drop_path_rate"] = m.DROP_PATH_RATE
    return dict(
        args, mlp_ratios=tuple(m.MLP_RATIOS), norm=m.NORM, out_features=tuple(m.OUT_FEATURES)
    )


@BACKBONE_REGISTRY.register()
def build_mscan_backbone(cfg, input_shape: ShapeSpec) -> MSCAN:
    """MSCAN from ``MODEL.MSCAN`` (see :func:`mscan_args_from_config`)."""
    return MSCAN(in_channels=input_shape.channels, **mscan_args_from_config(cfg))
