"""Mask2Former's transformer decoder: masked cross-attention, round-robin over the pixel
decoder's scales, with a class and mask prediction after every layer.

Dimension legend: N batch; Q queries; C = ``hidden_dim``; E = ``mask_dim``; K classes (the
class head has K + 1 outputs, the last being "no object"); M attention heads; (H_l, W_l) size of
scale l; (H4, W4) size of ``mask_features`` (1/4 of the padded input).
"""

from typing import Dict, List

import fvcore.nn.weight_init as weight_init
import torch
from torch import nn
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.layers import Conv2d

from .build import TRANSFORMER_DECODER_REGISTRY
from .position_encoding import PositionEmbeddingSine

__all__ = ["MultiScaleMaskedTransformerDecoder", "MLP"]


def _xavier(module: nn.Module):
    for p in module.parameters():
        if p.dim() > 1:
            nn.init.xavier_uniform_(p)


class _AttentionLayer(nn.Module):
    """Residual multi-head attention + LayerNorm (post-norm, or pre-norm with ``pre_norm``).

    forward(tgt (N, Q, C), memory (N, S, C), attn_mask (N*M, Q, S) bool or None (True = blocked),
    pos (N, S, C) or None, query_pos (N, Q, C) or None) -> (N, Q, C). Self-attention is
    ``memory = tgt``, ``pos = query_pos``.
    """

    def __init__(self, d_model, nhead, dropout=0.0, pre_norm=False):
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=True)
        self.norm = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.pre_norm = pre_norm
        _xavier(self)

    def forward(self, tgt, memory, attn_mask=None, pos=None, query_pos=None):
        q_in = self.norm(tgt) if self.pre_norm else tgt
        k_in = memory if memory is not tgt or not self.pre_norm else q_in
        q = q_in if query_pos is None else q_in + query_pos
        k = k_in if pos is None else k_in + pos
        out = self.attn(q, k, k_in, attn_mask=attn_mask, need_weights=False)[0]
        tgt = tgt + self.dropout(out)
        return tgt if self.pre_norm else self.norm(tgt)


class _FFNLayer(nn.Module):
    """Residual ReLU FFN + LayerNorm. forward((N, Q, C)) -> (N, Q, C)."""

    def __init__(self, d_model, dim_feedforward, dropout=0.0, pre_norm=False):
        super().__init__()
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(d_model)
        self.pre_norm = pre_norm
        _xavier(self)

    def forward(self, tgt):
        x = self.norm(tgt) if self.pre_norm else tgt
        tgt = tgt + self.dropout(self.linear2(self.dropout(F.relu(self.linear1(x)))))
        return tgt if self.pre_norm else self.norm(tgt)


class MLP(nn.Module):
    """``num_layers`` linear layers with ReLU between them. (..., in) -> (..., out)."""

    def __init__(self, input_dim, hidden_dim, output_dim, num_layers):
        super().__init__()
        dims = [input_dim] + [hidden_dim] * (num_layers - 1) + [output_dim]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.relu(x)
        return x


@TRANSFORMER_DECODER_REGISTRY.register()
class MultiScaleMaskedTransformerDecoder(nn.Module):
    """Mask2Former's decoder (Cheng et al. 2022, section 3.2).

    ``num_queries`` learned query features and positional embeddings. Before the first layer and
    after every layer, :meth:`predict` gives class logits (N, Q, K+1), mask logits (N, Q, H4, W4)
    (dot product of an MLP embedding of each query with ``mask_features``) and the attention
    mask for the next layer: pixels where the mask logit, bilinearly resized to the next scale, is
    below 0 (sigmoid < 0.5) are blocked (a query whose whole row would be blocked sees all
    pixels). Layer ``i`` cross-attends to scale ``i % num_feature_levels`` (round-robin, coarse
    first), then self-attends, then applies the FFN. The attention mask is detached.

    ``dec_layers`` counts the predictions, Mask2Former's DEC_LAYERS convention: ``dec_layers - 1``
    transformer layers plus the prediction from the learnable queries alone (10 = 9 + 1).

    forward(multi_scale_features: list of (N, C_in, H_l, W_l) coarsest first, mask_features
    (N, E, H4, W4)) -> {"pred_logits": (N, Q, K+1), "pred_masks": (N, Q, H4, W4),
    "aux_outputs": list of ``dec_layers - 1`` dicts with the same keys for the earlier
    predictions (empty without ``deep_supervision``)}.
    """

    @configurable
    def __init__(
        self,
        in_channels: int,
        *,
        num_classes: int,
        hidden_dim: int = 256,
        num_queries: int = 100,
        nheads: int = 8,
        dim_feedforward: int = 2048,
        dec_layers: int = 10,
        pre_norm: bool = False,
        mask_dim: int = 256,
        enforce_input_project: bool = False,
        num_feature_levels: int = 3,
        dropout: float = 0.0,
        deep_supervision: bool = True,
    ):
        super().__init__()
        if dec_layers < 1:
            raise ValueError(f"MODEL.MASK_FORMER.DEC_LAYERS must be >= 1, got {dec_layers}.")
        self.num_layers = dec_layers - 1
        self.num_heads = nheads
        self.num_feature_levels = num_feature_levels
        self.deep_supervision = deep_supervision
        self.pe_layer = PositionEmbeddingSine(hidden_dim // 2, normalize=True)
        self.cross_attention = nn.ModuleList(
            _AttentionLayer(hidden_dim, nheads, dropout, pre_norm) for _ in range(self.num_layers)
        )
        self.self_attention = nn.ModuleList(
            _AttentionLayer(hidden_dim, nheads, dropout, pre_norm) for _ in range(self.num_layers)
        )
        self.ffn = nn.ModuleList(
            _FFNLayer(hidden_dim, dim_feedforward, dropout, pre_norm)
            for _ in range(self.num_layers)
        )
        self.decoder_norm = nn.LayerNorm(hidden_dim)
        self.query_feat = nn.Embedding(num_queries, hidden_dim)
        self.query_embed = nn.Embedding(num_queries, hidden_dim)
        self.level_embed = nn.Embedding(num_feature_levels, hidden_dim)
        self.input_proj = nn.ModuleList()
        for _ in range(num_feature_levels):
            if in_channels != hidden_dim or enforce_input_project:
                proj = Conv2d(in_channels, hidden_dim, kernel_size=1)
                weight_init.c2_xavier_fill(proj)
                self.input_proj.append(proj)
            else:
                self.input_proj.append(nn.Identity())
        self.class_embed = nn.Linear(hidden_dim, num_classes + 1)
        self.mask_embed = MLP(hidden_dim, hidden_dim, mask_dim, 3)

    @classmethod
    def from_config(cls, cfg, in_channels):
        mf = cfg.MODEL.MASK_FORMER
        return {
            "in_channels": in_channels,
            "num_classes": cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES,
            "hidden_dim": mf.HIDDEN_DIM,
            "num_queries": mf.NUM_OBJECT_QUERIES,
            "nheads": mf.NHEADS,
            "dim_feedforward": mf.DIM_FEEDFORWARD,
            "dec_layers": mf.DEC_LAYERS,
            "pre_norm": mf.PRE_NORM,
            "mask_dim": cfg.MODEL.SEM_SEG_HEAD.MASK_DIM,
            "enforce_input_project": mf.ENFORCE_INPUT_PROJ,
            "num_feature_levels": mf.NUM_FEATURE_LEVELS,
            "dropout": mf.DROPOUT,
            "deep_supervision": mf.DEEP_SUPERVISION,
        }

    def predict(self, output, mask_features, attn_mask_size):
        """output (N, Q, C) -> class logits (N, Q, K+1), mask logits (N, Q, H4, W4), attention
        mask (N*M, Q, h*w) bool at ``attn_mask_size`` = (h, w), detached."""
        decoded = self.decoder_norm(output)
        logits = self.class_embed(decoded)
        masks = torch.einsum("nqe,nehw->nqhw", self.mask_embed(decoded), mask_features)
        with torch.no_grad():
            small = F.interpolate(masks, size=attn_mask_size, mode="bilinear", align_corners=False)
            blocked = small.flatten(2) < 0  # sigmoid < 0.5
            blocked = blocked.unsqueeze(1).expand(-1, self.num_heads, -1, -1).flatten(0, 1)
        return logits, masks, blocked

    def forward(
        self, multi_scale_features: List[torch.Tensor], mask_features: torch.Tensor
    ) -> Dict[str, object]:
        if len(multi_scale_features) != self.num_feature_levels:
            raise ValueError(
                f"expected {self.num_feature_levels} pixel-decoder scales, got "
                f"{len(multi_scale_features)}."
            )
        srcs, poss, sizes = [], [], []
        for lvl, x in enumerate(multi_scale_features):
            sizes.append(tuple(x.shape[-2:]))
            poss.append(self.pe_layer(x).flatten(2).transpose(1, 2))
            src = self.input_proj[lvl](x).flatten(2) + self.level_embed.weight[lvl][None, :, None]
            srcs.append(src.transpose(1, 2))  # (N, H_l*W_l, C)
        n = mask_features.shape[0]
        query_pos = self.query_embed.weight.unsqueeze(0).expand(n, -1, -1)
        output = self.query_feat.weight.unsqueeze(0).expand(n, -1, -1)

        all_logits, all_masks = [], []
        logits, masks, blocked = self.predict(output, mask_features, sizes[0])
        all_logits.append(logits)
        all_masks.append(masks)
        for i in range(self.num_layers):
            lvl = i % self.num_feature_levels
            # a query that would see nothing sees everything
            blocked = blocked & ~blocked.all(dim=-1, keepdim=True)
            output = self.cross_attention[i](
                output, srcs[lvl], attn_mask=blocked, pos=poss[lvl], query_pos=query_pos
            )
            output = self.self_attention[i](output, output, query_pos=query_pos, pos=query_pos)
            output = self.ffn[i](output)
            size = sizes[(i + 1) % self.num_feature_levels]
            logits, masks, blocked = self.predict(output, mask_features, size)
            all_logits.append(logits)
            all_masks.append(masks)
        aux = []
        if self.deep_supervision:
            aux = [{"pred_logits": a, "pred_masks": b} for a, b in zip(all_logits, all_masks)][:-1]
        return {"pred_logits": all_logits[-1], "pred_masks": all_masks[-1], "aux_outputs": aux}
