"""The multi-scale deformable-attention layer (projections around :func:`.kernel.ms_deform_attn`).

Dimension legend: see :mod:`.reference`; C = ``d_model`` = M * D.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

from .kernel import ms_deform_attn

__all__ = ["MSDeformAttn"]


class MSDeformAttn(nn.Module):
    """Deformable DETR's multi-scale deformable attention (Zhu et al. 2021, eq. 3).

    For each query, each head samples ``n_points`` locations on each of ``n_levels`` feature
    maps, at ``reference point + offset / (W_l, H_l)``; offsets and softmax weights are linear
    functions of the query. The initialisation is Deformable DETR's: zero offset weights with
    biases placing point ``k`` of head ``m`` at ``(k + 1)`` pixels in direction ``2 pi m / M``,
    zero attention logits (uniform weights), Xavier value/output projections.
    """

    def __init__(self, d_model: int = 256, n_levels: int = 4, n_heads: int = 8, n_points: int = 4):
        super().__init__()
        if d_model % n_heads != 0:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads}).")
        self.d_model, self.n_levels, self.n_heads, self.n_points = (
            d_model,
            n_levels,
            n_heads,
            n_points,
        )
        self.sampling_offsets = nn.Linear(d_model, n_heads * n_levels * n_points * 2)
        self.attention_weights = nn.Linear(d_model, n_heads * n_levels * n_points)
        self.value_proj = nn.Linear(d_model, d_model)
        self.output_proj = nn.Linear(d_model, d_model)
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.zeros_(self.sampling_offsets.weight)
        angles = torch.arange(self.n_heads, dtype=torch.float64) * (2.0 * math.pi / self.n_heads)
        directions = torch.stack([angles.cos(), angles.sin()], dim=-1)  # (M, 2)
        directions = directions / directions.abs().max(dim=-1, keepdim=True).values
        scale = torch.arange(1, self.n_points + 1, dtype=torch.float64).view(1, 1, -1, 1)
        bias = directions.view(self.n_heads, 1, 1, 2).repeat(1, self.n_levels, self.n_points, 1)
        with torch.no_grad():
            self.sampling_offsets.bias.copy_((bias * scale).flatten())
        nn.init.zeros_(self.attention_weights.weight)
        nn.init.zeros_(self.attention_weights.bias)
        for proj in (self.value_proj, self.output_proj):
            nn.init.xavier_uniform_(proj.weight)
            nn.init.zeros_(proj.bias)

    def forward(
        self,
        query: torch.Tensor,
        reference_points: torch.Tensor,
        input_flatten: torch.Tensor,
        spatial_shapes: torch.Tensor,
        level_start_index: torch.Tensor,
        input_padding_mask: torch.Tensor = None,
    ) -> torch.Tensor:
        """
        Args:
            query: (N, Lq, C).
            reference_points: (N, Lq, L, 2), ``(x, y)`` in [0, 1] per level.
            input_flatten: (N, S, C), the levels flattened and concatenated.
            spatial_shapes: (L, 2) int64, ``(H_l, W_l)``.
            level_start_index: (L,) int64.
            input_padding_mask: (N, S) bool, True at padded positions (their value is zeroed),
                or None.

        Returns:
            (N, Lq, C).
        """
        n, lq, _ = query.shape
        s = input_flatten.shape[1]
        if reference_points.shape[-1] != 2:
            raise ValueError(
                "reference_points must end with (x, y); box references (last dim 4) are not "
                f"supported, got shape {tuple(reference_points.shape)}."
            )
        value = self.value_proj(input_flatten)
        if input_padding_mask is not None:
            value = value.masked_fill(input_padding_mask[..., None], 0.0)
        value = value.view(n, s, self.n_heads, self.d_model // self.n_heads)
        offsets = self.sampling_offsets(query).view(
            n, lq, self.n_heads, self.n_levels, self.n_points, 2
        )
        weights = self.attention_weights(query).view(
            n, lq, self.n_heads, self.n_levels * self.n_points
        )
        weights = F.softmax(weights, dim=-1).view(n, lq, self.n_heads, self.n_levels, self.n_points)
        # offsets are in pixels of each level: divide by (W_l, H_l)
        normalizer = torch.stack([spatial_shapes[:, 1], spatial_shapes[:, 0]], dim=-1).to(
            offsets.dtype
        )
        locations = (
            reference_points[:, :, None, :, None, :]
            + offsets / normalizer[None, None, None, :, None, :]
        )
        out = ms_deform_attn(value, spatial_shapes, level_start_index, locations, weights)
        return self.output_proj(out)
