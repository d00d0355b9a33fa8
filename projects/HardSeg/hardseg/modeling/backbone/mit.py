"""Mix Transformer (MiT), SegFormer's encoder (Xie et al., NeurIPS 2021), as a detectron2 backbone.

Four stages; each starts with an overlapping patch embedding (a strided convolution whose kernel is
larger than its stride: 7x7/4 for the first stage, 3x3/2 after) and stacks transformer blocks made
of

* efficient self-attention: keys and values come from the tokens reduced by a ``sr x sr`` strided
  convolution (sr = 8, 4, 2, 1 per stage), so attention costs N * N / sr^2 instead of N^2;
* Mix-FFN: Linear -> 3x3 depthwise convolution on the token grid -> GELU -> Linear. The depthwise
  convolution leaks enough position information that no positional encoding is needed;
* pre-norm residuals with stochastic depth (drop-path rate rising linearly over all blocks).

Each stage ends with a LayerNorm and reports its map as ``res2..res5`` (strides 4, 8, 16, 32).
Module names follow the official release (NVlabs/SegFormer,
``mmseg/models/backbones/mix_transformer.py``) so that its ImageNet and segmentation checkpoints
map one to one (``tools/convert_efficient_checkpoint.py``). The stage scaffolding is
:class:`hardseg.modeling.backbone.pyramid.PyramidEncoder`, shared with MSCAN. Design notes:
docs/models_efficient.md.
"""

from typing import Dict, List, Sequence

import torch
from torch import nn

from detectron2.layers import ShapeSpec
from detectron2.modeling import BACKBONE_REGISTRY

from .drop_path import DropPath
from .pyramid import STAGE_NAMES, PyramidEncoder, init_weights

__all__ = ["MIT_VARIANTS", "MixVisionTransformer", "build_mit_backbone"]

# embed dims, heads, depths of the six published sizes (SegFormer paper, Table 6 / the official
# mit_b0..mit_b5 classes); every size uses sr ratios 8/4/2/1 and MLP ratio 4.
MIT_VARIANTS = {
    "b0": dict(embed_dims=(32, 64, 160, 256), num_heads=(1, 2, 5, 8), depths=(2, 2, 2, 2)),
    "b1": dict(embed_dims=(64, 128, 320, 512), num_heads=(1, 2, 5, 8), depths=(2, 2, 2, 2)),
    "b2": dict(embed_dims=(64, 128, 320, 512), num_heads=(1, 2, 5, 8), depths=(3, 4, 6, 3)),
    "b3": dict(embed_dims=(64, 128, 320, 512), num_heads=(1, 2, 5, 8), depths=(3, 4, 18, 3)),
    "b4": dict(embed_dims=(64, 128, 320, 512), num_heads=(1, 2, 5, 8), depths=(3, 8, 27, 3)),
    "b5": dict(embed_dims=(64, 128, 320, 512), num_heads=(1, 2, 5, 8), depths=(3, 6, 40, 3)),
}


class OverlapPatchEmbed(nn.Module):
    """(N, C_in, H, W) -> tokens (N, H' * W', C) with H' = ceil(H / stride), and (H', W')."""

    def __init__(self, in_channels: int, embed_dim: int, patch_size: int, stride: int):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, embed_dim, patch_size, stride, patch_size // 2)
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, x: torch.Tensor):
        x = self.proj(x)
        h, w = x.shape[-2:]
        return self.norm(x.flatten(2).transpose(1, 2)), h, w


class EfficientSelfAttention(nn.Module):
    """Multi-head attention whose keys/values come from tokens reduced ``sr_ratio`` times per side.

    Shapes: ``x`` (N, h * w, C) -> (N, h * w, C)."""

    def __init__(self, dim: int, num_heads: int, sr_ratio: int):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"MiT: embed dim {dim} is not divisible by {num_heads} heads.")
        self.num_heads = num_heads
        self.sr_ratio = sr_ratio
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        if sr_ratio > 1:
            self.sr = nn.Conv2d(dim, dim, sr_ratio, sr_ratio)
            self.norm = nn.LayerNorm(dim)  # default eps, as the official Attention

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        n, length, c = x.shape
        heads = self.num_heads
        q = self.q(x).reshape(n, length, heads, c // heads).transpose(1, 2)
        if self.sr_ratio > 1:
            grid = x.transpose(1, 2).reshape(n, c, h, w)
            x = self.norm(self.sr(grid).flatten(2).transpose(1, 2))
        k, v = self.kv(x).reshape(n, -1, 2, heads, c // heads).permute(2, 0, 3, 1, 4)
        out = nn.functional.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(n, length, c))


class MixFFN(nn.Module):
    """Linear -> 3x3 depthwise conv on the (h, w) grid -> GELU -> Linear; (N, h*w, C) kept."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.dwconv = nn.Module()  # official key: mlp.dwconv.dwconv.*
        self.dwconv.dwconv = nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        x = self.fc1(x)
        n, _, c = x.shape
        x = self.dwconv.dwconv(x.transpose(1, 2).reshape(n, c, h, w)).flatten(2).transpose(1, 2)
        return self.fc2(self.act(x))


class MiTBlock(nn.Module):
    """Pre-norm transformer block: x + drop(attn(norm1 x)); x + drop(ffn(norm2 x))."""

    def __init__(self, dim, num_heads, sr_ratio, mlp_ratio, drop_path):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = EfficientSelfAttention(dim, num_heads, sr_ratio)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = MixFFN(dim, int(dim * mlp_ratio))

    def forward(self, x, h, w):
        x = x + self.drop_path(self.attn(self.norm1(x), h, w))
        return x + self.drop_path(self.mlp(self.norm2(x), h, w))


class MixVisionTransformer(PyramidEncoder):
    """MiT encoder. ``forward(images (N, 3, H, W))`` -> ``{"res2": (N, C_0, H/4, W/4), ...,
    "res5": (N, C_3, H/32, W/32)}`` restricted to ``out_features`` (sizes rounded up).

    Args:
        embed_dims, num_heads, depths, sr_ratios: per stage (4 values each).
        mlp_ratio: hidden width of Mix-FFN over the embed dim.
        drop_path_rate: stochastic depth of the last block (linear from 0 over all blocks).
        out_features: subset of res2..res5.
        in_channels: image channels.
    """

    def __init__(
        self,
        *,
        embed_dims: Sequence[int] = (32, 64, 160, 256),
        num_heads: Sequence[int] = (1, 2, 5, 8),
        depths: Sequence[int] = (2, 2, 2, 2),
        sr_ratios: Sequence[int] = (8, 4, 2, 1),
        mlp_ratio: float = 4.0,
        drop_path_rate: float = 0.1,
        out_features: Sequence[str] = STAGE_NAMES,
        in_channels: int = 3,
    ):
        super().__init__(
            "MIT", out_features, EMBED_DIMS=embed_dims, NUM_HEADS=num_heads, DEPTHS=depths
        )

        def embed(stage, cin, cout):  # 7x7 / 4 for the first stage, 3x3 / 2 after
            return OverlapPatchEmbed(cin, cout, *((7, 4) if stage == 0 else (3, 2)))

        def block(stage, rate):
            dim = embed_dims[stage]
            return MiTBlock(dim, num_heads[stage], sr_ratios[stage], mlp_ratio, rate)

        def norm(dim):
            return nn.LayerNorm(dim, eps=1e-6)

        self.add_stages(in_channels, embed_dims, depths, drop_path_rate, embed, block, norm)
        self.embed_dims = tuple(embed_dims)
        self.apply(init_weights)

    def stage(self, i: int, x: torch.Tensor) -> torch.Tensor:
        """Tokens of the patch embedding through the blocks on their (h, w) grid, then the
        stage's LayerNorm; returned as a map (N, C, h, w)."""
        x, h, w = getattr(self, f"patch_embed{i}")(x)
        for block in getattr(self, f"block{i}"):
            x = block(x, h, w)
        x = getattr(self, f"norm{i}")(x)
        return x.transpose(1, 2).reshape(x.shape[0], -1, h, w)


def mit_args_from_config(cfg) -> Dict[str, List]:
    """``MixVisionTransformer`` arguments from ``MODEL.MIT``: the ``VARIANT``'s sizes, each
    overridden by ``EMBED_DIMS`` / ``NUM_HEADS`` / ``DEPTHS`` when not empty."""
    m = cfg.MODEL.MIT
    if m.VARIANT not in MIT_VARIANTS:
        raise ValueError(f"MODEL.MIT.VARIANT={m.VARIANT!r}; expected one of {list(MIT_VARIANTS)}.")
    sizes = dict(MIT_VARIANTS[m.VARIANT])
    for key, name in (
        ("embed_dims", "EMBED_DIMS"),
        ("num_heads", "NUM_HEADS"),
        ("depths", "DEPTHS"),
    ):
        if len(m[name]):
            sizes[key] = tuple(m[name])
    return dict(
        **sizes,
        sr_ratios=tuple(m.SR_RATIOS),
        mlp_ratio=m.MLP_RATIO,
        drop_path_rate=m.DROP_PATH_RATE,
        out_features=tuple(m.OUT_FEATURES),
    )


@BACKBONE_REGISTRY.register()
def build_mit_backbone(cfg, input_shape: ShapeSpec) -> MixVisionTransformer:
    """MiT from ``MODEL.MIT`` (see :func:`mit_args_from_config`)."""
    return MixVisionTransformer(in_channels=input_shape.channels, **mit_args_from_config(cfg))
