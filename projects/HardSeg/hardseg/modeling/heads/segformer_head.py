"""SegFormer's all-MLP decode head (Xie et al. 2021) on HardSeg's per-pixel head contract."""

from typing import Dict, List, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.layers import get_norm
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY

from ..shape_spec import as_shape_specs
from ._common import loss_args_from_config
from .per_pixel import PerPixelLossMixin


class ConvNormReLU(nn.Module):
    """1x1 (or k x k) conv without bias -> norm -> ReLU; attribute names ``conv``/``bn`` match
    mmcv's ConvModule, so official checkpoints map by name."""

    def __init__(self, in_channels: int, out_channels: int, norm: str, kernel_size: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=not norm
        )
        self.bn = get_norm(norm, out_channels) if norm else nn.Identity()

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class TokenLinear(nn.Module):
    """A per-pixel Linear (C_in -> D) applied to a map: (N, C_in, h, w) -> (N, D, h, w). Its weight
    is ``proj.weight`` (D, C_in), the official ``MLP`` layer's key."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.proj = nn.Linear(in_channels, out_channels)

    def forward(self, x):
        return self.proj(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


@SEM_SEG_HEADS_REGISTRY.register()
class SegFormerHead(PerPixelLossMixin, nn.Module):
    """All-MLP decoder: each of the four encoder levels is projected to ``embed_dim`` channels by a
    per-pixel Linear, upsampled to the finest level (bilinear), concatenated (coarsest first, as
    the official head), fused by 1x1 conv + norm + ReLU, dropped out and classified by a 1x1 conv.

    Shapes: ``features[f]`` (N, C_f, H/s_f, W/s_f) for the 4 ``in_features`` (finest first);
    :meth:`layers` returns logits (N, K, H/s, W/s) with s = the finest stride (``common_stride``).

    Official head: NVlabs/SegFormer ``mmseg/models/decode_heads/segformer_head.py``
    (``decoder_params.embed_dim`` 256 for B0/B1, 768 for B2-B5).
    """

    @configurable
    def __init__(
        self,
        input_shape,
        *,
        num_classes: int,
        in_features: Sequence[str] = ("res2", "res3", "res4", "res5"),
        embed_dim: int = 256,
        dropout: float = 0.1,
        norm: str = "BN",
        loss_type="cross_entropy",
        loss_weight: float = 1.0,
        ignore_value: int = 255,
        predictor_init_std: float = 0.01,
    ):
        super().__init__()
        input_shape = as_shape_specs(input_shape)
        missing = [f for f in in_features if f not in input_shape]
        if len(in_features) != 4 or missing:
            raise ValueError(
                f"SegFormerHead reads 4 backbone levels; MODEL.SEM_SEG_HEAD.IN_FEATURES = "
                f"{list(in_features)} (missing from the backbone outputs: {missing})."
            )
        self.in_features = list(in_features)
        for i, f in enumerate(self.in_features):
            self.add_module(f"linear_c{i + 1}", TokenLinear(input_shape[f].channels, embed_dim))
        self.linear_fuse = ConvNormReLU(4 * embed_dim, embed_dim, norm)
        self.init_classifier(embed_dim, num_classes, dropout=dropout, init_std=predictor_init_std)
        self.common_stride = input_shape[self.in_features[0]].stride
        self.norm = norm
        self.init_loss(loss_type, loss_weight, ignore_value)

    @classmethod
    def from_config(cls, cfg, input_shape):
        h = cfg.MODEL.SEM_SEG_HEAD
        return {
            **loss_args_from_config(cfg),
            "input_shape": input_shape,
            "in_features": h.IN_FEATURES,
            "embed_dim": h.CONVS_DIM,
            "dropout": h.DROPOUT,
            "norm": h.NORM,
            "predictor_init_std": h.PREDICTOR_INIT_STD,
        }

    @property
    def level_channels(self) -> List[int]:
        """Channels of the 4 encoder levels, finest first."""
        return [getattr(self, f"linear_c{i + 1}").proj.in_features for i in range(4)]

    @property
    def feature_channels(self) -> Dict[str, int]:
        return {
            "head_input": sum(self.level_channels),
            "decoder_concat": self.linear_fuse.conv.in_channels,
            "pre_classifier": self.predictor.in_channels,
        }

    def cac_weight_branch(self, num_classes: int) -> nn.Module:
        """CAC's weight branch of the official ``CACSegformerHead`` (docs/methods/cac.md §3)."""
        return SegFormerCACWeightBranch(self.level_channels, num_classes, norm=self.norm)

    def layers(self, features: Dict[str, torch.Tensor], *, return_features: bool = False):
        """``features`` -> logits (N, K, H/4, W/4); with ``return_features`` also
        ``{"head_input": (N, sum C_f, H/4, W/4), "decoder_concat": (N, 4D, H/4, W/4),
        "pre_classifier": (N, D, H/4, W/4), "level1".."level4": the raw encoder levels}``;
        ``head_input`` is the raw levels resized bilinearly to 1/4 and concatenated finest first
        (CAC's X in the official ``CACSegformerHead``)."""
        size = features[self.in_features[0]].shape[-2:]
        levels = []
        for i in reversed(range(4)):  # coarsest first, the official concatenation order
            y = getattr(self, f"linear_c{i + 1}")(features[self.in_features[i]])
            if y.shape[-2:] != size:
                y = F.interpolate(y, size=size, mode="bilinear", align_corners=False)
            levels.append(y)
        concat = torch.cat(levels, dim=1)
        fused = self.linear_fuse(concat)
        logits = self.predictor(self.dropout(fused))
        if not return_features:
            return logits
        raw = [features[f] for f in self.in_features]
        taps = {f"level{i + 1}": x for i, x in enumerate(raw)}
        taps["head_input"] = torch.cat([_resize(x, size) for x in raw], dim=1)
        taps.update(decoder_concat=concat, pre_classifier=fused)
        return logits, taps


def _resize(x: torch.Tensor, size) -> torch.Tensor:
    if x.shape[-2:] == size:
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class SegFormerCACWeightBranch(nn.Module):
    """CAC's weight branch for SegFormer: per level a 1x1 conv C_f -> D + norm + ReLU on the
    (detached) raw level, resized to the finest level, concatenated finest first, then 1x1 conv
    4D -> D + norm + ReLU and a 1x1 classifier with bias. Reads ``level1``..``level4`` of the
    head-feature dict: {(N, C_f, H/s_f, W/s_f)} -> (N, K, H/4, W/4). D = 256, the official
    ``channels`` of every CAC SegFormer config (docs/methods/cac.md §3)."""

    def __init__(self, level_channels: List[int], num_classes: int, *, channels=256, norm="BN"):
        super().__init__()
        self.convs = nn.ModuleList(ConvNormReLU(c, channels, norm) for c in level_channels)
        self.fuse = ConvNormReLU(channels * len(level_channels), channels, norm)
        self.classifier = nn.Conv2d(channels, num_classes, 1)

    def forward(self, head_features: Dict[str, torch.Tensor]) -> torch.Tensor:
        levels = [head_features[f"level{i + 1}"] for i in range(len(self.convs))]
        size = levels[0].shape[-2:]
        y = torch.cat([_resize(conv(x), size) for conv, x in zip(self.convs, levels)], dim=1)
        return self.classifier(self.fuse(y))
