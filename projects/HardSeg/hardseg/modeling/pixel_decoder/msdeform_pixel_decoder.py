"""Mask2Former's pixel decoder: a deformable-attention encoder over the coarse levels, then an
FPN step down to the finest level.

Dimension legend: N batch; C = ``conv_dim``; E = ``mask_dim``; L = number of encoder levels
(``transformer_in_features``, default res3..res5); S = sum_l H_l * W_l; M heads; P points.
"""

from typing import Dict, List, Tuple

import fvcore.nn.weight_init as weight_init
import torch
from torch import nn
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.layers import Conv2d, ShapeSpec, get_norm

from ..transformer_decoder.position_encoding import PositionEmbeddingSine
from .build import PIXEL_DECODER_REGISTRY, as_shape_specs
from .ms_deform_attn import MSDeformAttn

__all__ = ["MSDeformAttnPixelDecoder", "MSDeformAttnEncoderLayer"]


class MSDeformAttnEncoderLayer(nn.Module):
    """Post-norm encoder layer: deformable self-attention (queries = every position + its
    positional encoding, values = all levels), then a ReLU FFN.

    forward(src (N, S, C), pos (N, S, C), reference_points (N, S, L, 2), spatial_shapes (L, 2),
    level_start_index (L,)) -> (N, S, C)
    """

    def __init__(self, d_model, d_ffn, dropout, n_levels, n_heads, n_points):
        super().__init__()
        self.self_attn = MSDeformAttn(d_model, n_levels, n_heads, n_points)
        self.dropout1 = nn.Dropout(dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.linear1 = nn.Linear(d_model, d_ffn)
        self.dropout2 = nn.Dropout(dropout)
        self.linear2 = nn.Linear(d_ffn, d_model)
        self.dropout3 = nn.Dropout(dropout)
        self.norm2 = nn.LayerNorm(d_model)

    def forward(self, src, pos, reference_points, spatial_shapes, level_start_index):
        attn = self.self_attn(src + pos, reference_points, src, spatial_shapes, level_start_index)
        src = self.norm1(src + self.dropout1(attn))
        ffn = self.linear2(self.dropout2(F.relu(self.linear1(src))))
        return self.norm2(src + self.dropout3(ffn))


def _reference_points(spatial_shapes: List[Tuple[int, int]], n: int, device) -> torch.Tensor:
    """Pixel centres of every level, normalised to [0, 1], repeated for every level:
    (N, S, L, 2) as ``(x, y)`` (no padding masks, so every valid ratio is 1)."""
    refs = []
    for h, w in spatial_shapes:
        ys = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) / h
        xs = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) / w
        ref_y, ref_x = torch.meshgrid(ys, xs, indexing="ij")
        refs.append(torch.stack([ref_x.reshape(-1), ref_y.reshape(-1)], dim=-1))
    ref = torch.cat(refs, dim=0)  # (S, 2)
    return ref[None, :, None, :].expand(n, -1, len(spatial_shapes), -1)


@PIXEL_DECODER_REGISTRY.register()
class MSDeformAttnPixelDecoder(nn.Module):
    """Mask2Former's ``MSDeformAttnPixelDecoder``.

    1. Each level of ``transformer_in_features`` (coarsest first) is projected by a 1x1 conv +
       GroupNorm to C, flattened, and given a sine positional encoding plus a learned level
       embedding.
    2. ``encoder_layers`` :class:`MSDeformAttnEncoderLayer` (FFN ``encoder_dim_feedforward``, 1024
       in Mask2Former) run on the concatenation; the result is split back into L maps.
    3. The finer backbone levels not in the encoder (res2) are added FPN-style: 1x1 lateral conv,
       + bilinear upsampling of the previous output, 3x3 conv with norm and ReLU.
    4. ``mask_features`` is a 1x1 conv of the finest output.

    forward(features {name: (N, C_l, H/s_l, W/s_l)}) ->
        mask_features (N, E, H/4, W/4),
        multi_scale_features: the first ``num_feature_levels`` encoder outputs, coarsest first,
        each (N, C, H/s_l, W/s_l).
    """

    @configurable
    def __init__(
        self,
        input_shape: Dict[str, ShapeSpec],
        *,
        transformer_in_features: List[str],
        conv_dim: int,
        mask_dim: int,
        norm: str = "GN",
        encoder_layers: int = 6,
        encoder_heads: int = 8,
        encoder_points: int = 4,
        encoder_dim_feedforward: int = 1024,
        encoder_dropout: float = 0.0,
        num_feature_levels: int = 3,
    ):
        super().__init__()
        input_shape = as_shape_specs(input_shape)
        by_stride = sorted(input_shape.items(), key=lambda kv: kv[1].stride)  # fine to coarse
        self.in_features = [k for k, _ in by_stride]
        missing = [f for f in transformer_in_features if f not in input_shape]
        if missing:
            raise ValueError(
                f"DEFORMABLE_TRANSFORMER_ENCODER_IN_FEATURES {missing} are not among the pixel "
                f"decoder's inputs {self.in_features} (MODEL.SEM_SEG_HEAD.IN_FEATURES)."
            )
        # encoder levels, coarsest first
        self.transformer_in_features = [
            k for k in reversed(self.in_features) if k in transformer_in_features
        ]
        if len(self.transformer_in_features) < num_feature_levels:
            raise ValueError(
                f"num_feature_levels={num_feature_levels} exceeds the {len(transformer_in_features)} "
                "deformable-encoder levels."
            )
        self.num_feature_levels = num_feature_levels
        n_levels = len(self.transformer_in_features)
        self.input_proj = nn.ModuleList()
        for name in self.transformer_in_features:
            proj = nn.Sequential(
                nn.Conv2d(input_shape[name].channels, conv_dim, kernel_size=1),
                get_norm(norm, conv_dim),
            )
            nn.init.xavier_uniform_(proj[0].weight, gain=1)
            nn.init.zeros_(proj[0].bias)
            self.input_proj.append(proj)
        self.level_embed = nn.Parameter(torch.empty(n_levels, conv_dim))
        nn.init.normal_(self.level_embed)
        self.pe_layer = PositionEmbeddingSine(conv_dim // 2, normalize=True)
        self.encoder = nn.ModuleList(
            MSDeformAttnEncoderLayer(
                conv_dim,
                encoder_dim_feedforward,
                encoder_dropout,
                n_levels,
                encoder_heads,
                encoder_points,
            )
            for _ in range(encoder_layers)
        )
        for layer in self.encoder:
            for p in layer.parameters():
                if p.dim() > 1:
                    nn.init.xavier_uniform_(p)
            layer.self_attn.reset_parameters()

        # FPN on the levels finer than the encoder's, built coarse to fine
        self.fpn_features = [
            k for k in reversed(self.in_features) if k not in transformer_in_features
        ]
        use_bias = norm == ""
        self.lateral_convs = nn.ModuleList()
        self.output_convs = nn.ModuleList()
        for name in self.fpn_features:
            lateral = Conv2d(
                input_shape[name].channels,
                conv_dim,
                1,
                bias=use_bias,
                norm=get_norm(norm, conv_dim),
            )
            out = Conv2d(
                conv_dim,
                conv_dim,
                3,
                padding=1,
                bias=use_bias,
                norm=get_norm(norm, conv_dim),
                activation=F.relu,
            )
            weight_init.c2_xavier_fill(lateral)
            weight_init.c2_xavier_fill(out)
            self.lateral_convs.append(lateral)
            self.output_convs.append(out)
        self.mask_features = Conv2d(conv_dim, mask_dim, 1)
        weight_init.c2_xavier_fill(self.mask_features)

    @classmethod
    def from_config(cls, cfg, input_shape: Dict[str, ShapeSpec]):
        head = cfg.MODEL.SEM_SEG_HEAD
        return {
            "input_shape": {k: v for k, v in input_shape.items() if k in head.IN_FEATURES},
            "transformer_in_features": list(head.DEFORMABLE_TRANSFORMER_ENCODER_IN_FEATURES),
            "conv_dim": head.CONVS_DIM,
            "mask_dim": head.MASK_DIM,
            "norm": head.NORM,
            "encoder_layers": head.TRANSFORMER_ENC_LAYERS,
            "encoder_heads": head.DEFORMABLE_TRANSFORMER_ENCODER_N_HEADS,
            "encoder_points": head.DEFORMABLE_TRANSFORMER_ENCODER_N_POINTS,
            "encoder_dim_feedforward": head.DEFORMABLE_TRANSFORMER_ENCODER_DIM_FEEDFORWARD,
            "encoder_dropout": cfg.MODEL.MASK_FORMER.DROPOUT,
            "num_feature_levels": cfg.MODEL.MASK_FORMER.NUM_FEATURE_LEVELS,
        }

    def forward(self, features: Dict[str, torch.Tensor]) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        """In float32 even under autocast (AMP): the official pixel decoder runs its
        ``forward_features`` with autocast disabled and its inputs cast to float, because
        deformable attention is not reliable in half precision (Mask2Former's msdeformattn.py)."""
        device_type = next(iter(features.values())).device.type
        with torch.autocast(device_type=device_type, enabled=False):
            return self._forward_fp32({k: v.float() for k, v in features.items()})

    def _forward_fp32(self, features: Dict[str, torch.Tensor]):
        srcs, poss, shapes = [], [], []
        for lvl, name in enumerate(self.transformer_in_features):
            x = self.input_proj[lvl](features[name])  # (N, C, H_l, W_l)
            shapes.append(tuple(x.shape[-2:]))
            srcs.append(x.flatten(2).transpose(1, 2))  # (N, H_l*W_l, C)
            pos = self.pe_layer(x).flatten(2).transpose(1, 2) + self.level_embed[lvl][None, None]
            poss.append(pos)
        src, pos = torch.cat(srcs, dim=1), torch.cat(poss, dim=1)
        n = src.shape[0]
        spatial_shapes = torch.as_tensor(shapes, dtype=torch.long, device=src.device)
        sizes = [h * w for h, w in shapes]
        level_start_index = torch.as_tensor(
            [0] + sizes[:-1], dtype=torch.long, device=src.device
        ).cumsum(0)
        reference_points = _reference_points(shapes, n, src.device).to(src.dtype)
        for layer in self.encoder:
            src = layer(src, pos, reference_points, spatial_shapes, level_start_index)
        outs = [
            y.transpose(1, 2).reshape(n, -1, h, w)
            for y, (h, w) in zip(src.split(sizes, dim=1), shapes)
        ]
        multi_scale = outs[: self.num_feature_levels]
        y = outs[-1]
        for i, name in enumerate(self.fpn_features):
            x = features[name]
            y = self.lateral_convs[i](x) + F.interpolate(
                y, size=x.shape[-2:], mode="bilinear", align_corners=False
            )
            y = self.output_convs[i](y)
        return self.mask_features(y), multi_scale
