"""TopFormer (Zhang et al., CVPR 2022), a mobile token-pyramid transformer, as a detectron2 backbone.

* Token Pyramid Module: a stride-2 stem and MobileNetV2 inverted residual blocks; four of their
  outputs (strides 4, 8, 16, 32) are the "tokens" of the pyramid.
* Each is average-pooled to the size of the stride-32 map halved (stride 64) and the four are
  concatenated along channels.
* Semantics extractor: a few transformer blocks on this small map, all convolutional: 1x1
  conv+BN projections to queries/keys/values, multi-head attention (no 1/sqrt(d) scaling, as the
  official code), ReLU6 + 1x1 conv+BN output (BN initialised to 0), then a 1x1 -> 3x3 depthwise
  -> ReLU6 -> 1x1 feed-forward.
* Semantics injection: the global map is split back per scale; at strides 8, 16 and 32 the local
  tokens (1x1 conv+BN) are multiplied by hard-sigmoid(1x1 conv+BN of the global part) and added
  to another 1x1 conv+BN of it, both upsampled bilinearly.

Outputs ``res3``, ``res4``, ``res5`` (the injected maps). Module names follow hustvl/TopFormer
``mmseg/models/backbones/topformer.py``; sizes its ``local_configs/topformer/topformer_*.py``.
See docs/models_efficient.md.
"""

from typing import Dict, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from detectron2.layers import ShapeSpec, get_norm
from detectron2.modeling import BACKBONE_REGISTRY, Backbone

from .drop_path import DropPath

__all__ = ["TOPFORMER_VARIANTS", "TopFormer", "build_topformer_backbone"]

# (kernel, expansion, channels, stride) per inverted residual block; token indices; token
# channels; injection width; heads (official local_configs/topformer/topformer_{tiny,small,base}).
TOPFORMER_VARIANTS = {
    "t": dict(
        blocks=((3, 1, 16, 1), (3, 4, 16, 2), (3, 3, 16, 1), (5, 3, 32, 2), (5, 3, 32, 1),
                (3, 3, 64, 2), (3, 3, 64, 1), (5, 6, 96, 2), (5, 6, 96, 1)),
        token_indices=(2, 4, 6, 8), out_channels=128, num_heads=4,
    ),
    "s": dict(
        blocks=((3, 1, 16, 1), (3, 4, 24, 2), (3, 3, 24, 1), (5, 3, 48, 2), (5, 3, 48, 1),
                (3, 3, 96, 2), (3, 3, 96, 1), (5, 6, 128, 2), (5, 6, 128, 1), (3, 6, 128, 1)),
        token_indices=(2, 4, 6, 9), out_channels=192, num_heads=6,
    ),
    "b": dict(
        blocks=((3, 1, 16, 1), (3, 4, 32, 2), (3, 3, 32, 1), (5, 3, 64, 2), (5, 3, 64, 1),
                (3, 3, 128, 2), (3, 3, 128, 1), (5, 6, 160, 2), (5, 6, 160, 1), (3, 6, 160, 1)),
        token_indices=(2, 4, 6, 9), out_channels=256, num_heads=8,
    ),
}  # fmt: skip


class ConvBN(nn.Sequential):
    """conv (no bias) + norm; keys ``c.weight``, ``bn.*`` as the official ``Conv2d_BN``."""

    def __init__(self, cin, cout, k=1, stride=1, groups=1, norm="BN", bn_weight_init=1.0):
        super().__init__()
        self.add_module("c", nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False))
        bn = get_norm(norm, cout)
        nn.init.constant_(bn.weight, bn_weight_init)
        nn.init.zeros_(bn.bias)
        self.add_module("bn", bn)


class InvertedResidual(nn.Module):
    """MobileNetV2 block: [1x1 expand + ReLU] -> k x k depthwise (stride) + ReLU -> 1x1 project;
    residual when the shape is kept. Keys ``conv.{i}.c/bn`` as the official block."""

    def __init__(self, cin, cout, k, expand, stride, norm):
        super().__init__()
        hidden = int(round(cin * expand))
        layers = []
        if expand != 1:
            layers += [ConvBN(cin, hidden, norm=norm), nn.ReLU()]
        layers += [
            ConvBN(hidden, hidden, k, stride, groups=hidden, norm=norm),
            nn.ReLU(),
            ConvBN(hidden, cout, norm=norm),
        ]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


class TokenPyramid(nn.Module):
    def __init__(self, blocks, token_indices, norm):
        super().__init__()
        self.stem = nn.Sequential(ConvBN(3, 16, 3, 2, norm=norm), nn.ReLU())
        prev = 16
        for i, (k, t, c, s) in enumerate(blocks):
            self.add_module(f"layer{i + 1}", InvertedResidual(prev, c, k, t, s, norm))
            prev = c
        self.num_blocks = len(blocks)
        self.token_indices = tuple(token_indices)

    def forward(self, x):
        x, tokens = self.stem(x), []
        for i in range(self.num_blocks):
            x = getattr(self, f"layer{i + 1}")(x)
            if i in self.token_indices:
                tokens.append(x)
        return tokens


class ConvAttention(nn.Module):
    """Multi-head attention over the pixels of (N, C, h, w) with 1x1 conv+BN projections."""

    def __init__(self, dim, key_dim, num_heads, attn_ratio, norm):
        super().__init__()
        self.num_heads, self.key_dim, self.d = num_heads, key_dim, attn_ratio * key_dim
        self.to_q = ConvBN(dim, key_dim * num_heads, norm=norm)
        self.to_k = ConvBN(dim, key_dim * num_heads, norm=norm)
        self.to_v = ConvBN(dim, self.d * num_heads, norm=norm)
        self.proj = nn.Sequential(
            nn.ReLU6(), ConvBN(self.d * num_heads, dim, norm=norm, bn_weight_init=0.0)
        )

    def forward(self, x):
        n, _, h, w = x.shape
        q = self.to_q(x).reshape(n, self.num_heads, self.key_dim, h * w).transpose(2, 3)
        k = self.to_k(x).reshape(n, self.num_heads, self.key_dim, h * w)
        v = self.to_v(x).reshape(n, self.num_heads, self.d, h * w).transpose(2, 3)
        out = torch.softmax(q @ k, dim=-1) @ v  # (N, heads, hw, d)
        return self.proj(out.transpose(2, 3).reshape(n, self.num_heads * self.d, h, w))


class ConvMlp(nn.Module):
    def __init__(self, dim, hidden, norm):
        super().__init__()
        self.fc1 = ConvBN(dim, hidden, norm=norm)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden)
        self.fc2 = ConvBN(hidden, dim, norm=norm)

    def forward(self, x):
        return self.fc2(F.relu6(self.dwconv(self.fc1(x))))


class ExtractorBlock(nn.Module):
    def __init__(self, dim, key_dim, num_heads, attn_ratio, mlp_ratio, drop_path, norm):
        super().__init__()
        self.attn = ConvAttention(dim, key_dim, num_heads, attn_ratio, norm)
        self.drop_path = DropPath(drop_path)
        self.mlp = ConvMlp(dim, int(dim * mlp_ratio), norm)

    def forward(self, x):
        x = x + self.drop_path(self.attn(x))
        return x + self.drop_path(self.mlp(x))


class ConvNorm(nn.Module):
    """1x1 conv (no bias) + norm; keys ``conv``/``bn`` as mmcv's ConvModule."""

    def __init__(self, cin, cout, norm):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn = get_norm(norm, cout)

    def forward(self, x):
        return self.bn(self.conv(x))


class SemanticInjection(nn.Module):
    """local (N, C, H, W), global (N, C, h, w) -> local' * hsigmoid(act(global))↑ + embed(global)↑."""

    def __init__(self, cin, cout, norm):
        super().__init__()
        self.local_embedding = ConvNorm(cin, cout, norm)
        self.global_embedding = ConvNorm(cin, cout, norm)
        self.global_act = ConvNorm(cin, cout, norm)

    def forward(self, local, global_):
        size = local.shape[-2:]
        gate = F.interpolate(
            F.hardsigmoid(self.global_act(global_)), size=size, mode="bilinear", align_corners=False
        )
        glob = F.interpolate(
            self.global_embedding(global_), size=size, mode="bilinear", align_corners=False
        )
        return self.local_embedding(local) * gate + glob


class TopFormer(Backbone):
    """``forward(images)`` -> ``{"res3": (N, C_out, H/8, W/8), "res4": (.., H/16, ..), "res5":
    (.., H/32, ..)}`` (the injected token maps; the first token level only feeds the extractor).

    Args:
        blocks: (kernel, expansion, channels, stride) of each inverted residual block.
        token_indices: the 4 blocks whose outputs are tokens (strides 4, 8, 16, 32).
        out_channels: width of the injected maps.
        depth, key_dim, num_heads, attn_ratio, mlp_ratio, drop_path_rate: the extractor.
    """

    def __init__(
        self,
        *,
        blocks=TOPFORMER_VARIANTS["t"]["blocks"],
        token_indices: Sequence[int] = (2, 4, 6, 8),
        out_channels: int = 128,
        depth: int = 4,
        key_dim: int = 16,
        num_heads: int = 4,
        attn_ratio: int = 2,
        mlp_ratio: float = 2.0,
        drop_path_rate: float = 0.1,
        norm: str = "BN",
        out_features: Sequence[str] = ("res3", "res4", "res5"),
    ):
        super().__init__()
        if len(token_indices) != 4:
            raise ValueError(f"TopFormer needs 4 token levels, got indices {list(token_indices)}.")
        self.tpm = TokenPyramid(blocks, token_indices, norm)
        self.channels = [blocks[i][2] for i in token_indices]
        rates = torch.linspace(0, drop_path_rate, depth, device="cpu").tolist()
        self.trans = nn.Module()  # official keys: trans.transformer_blocks.{i}.*
        self.trans.transformer_blocks = nn.ModuleList(
            ExtractorBlock(sum(self.channels), key_dim, num_heads, attn_ratio, mlp_ratio, r, norm)
            for r in rates
        )
        self.SIM = nn.ModuleList(
            [nn.Identity()] + [SemanticInjection(c, out_channels, norm) for c in self.channels[1:]]
        )
        self._names = ("res3", "res4", "res5")
        unknown = set(out_features) - set(self._names)
        if unknown:
            raise ValueError(
                f"MODEL.TOPFORMER.OUT_FEATURES: {sorted(unknown)} not in {self._names}."
            )
        self._out_features = list(out_features)
        self._out_feature_channels = {n: out_channels for n in self._names}
        self._out_feature_strides = {"res3": 8, "res4": 16, "res5": 32}
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
                nn.init.normal_(m.weight, 0.0, (2.0 / fan_out) ** 0.5)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    @property
    def size_divisibility(self) -> int:
        return 32

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        tokens = self.tpm(x)
        h, w = tokens[-1].shape[-2:]
        size = ((h - 1) // 2 + 1, (w - 1) // 2 + 1)
        g = torch.cat([F.adaptive_avg_pool2d(t, size) for t in tokens], dim=1)
        for block in self.trans.transformer_blocks:
            g = block(g)
        parts = g.split(self.channels, dim=1)
        out = {}
        for i, name in enumerate(self._names, start=1):
            if name in self._out_features:
                out[name] = self.SIM[i](tokens[i], parts[i])
        return out

    def output_shape(self) -> Dict[str, ShapeSpec]:
        return {
            n: ShapeSpec(
                channels=self._out_feature_channels[n], stride=self._out_feature_strides[n]
            )
            for n in self._out_features
        }


@BACKBONE_REGISTRY.register()
def build_topformer_backbone(cfg, input_shape: ShapeSpec) -> TopFormer:
    """TopFormer from ``MODEL.TOPFORMER`` (``VARIANT`` "t"/"s"/"b", ``OUT_CHANNELS`` override when
    > 0, ``DEPTH``, ``DROP_PATH_RATE``, ``NORM``, ``OUT_FEATURES``)."""
    t = cfg.MODEL.TOPFORMER
    if t.VARIANT not in TOPFORMER_VARIANTS:
        raise ValueError(
            f"MODEL.TOPFORMER.VARIANT={t.VARIANT!r}; expected one of {list(TOPFORMER_VARIANTS)}."
        )
    if input_shape.channels != 3:
        raise ValueError(f"TopFormer's stem takes 3 input channels, got {input_shape.channels}.")
    args = dict(TOPFORMER_VARIANTS[t.VARIANT])
    if t.OUT_CHANNELS > 0:
        args["out_channels"] = t.OUT_CHANNELS
    return TopFormer(
        **args,
        depth=t.DEPTH,
        drop_path_rate=t.DROP_PATH_RATE,
        norm=t.NORM,
        out_features=t.OUT_FEATURES,
    )
