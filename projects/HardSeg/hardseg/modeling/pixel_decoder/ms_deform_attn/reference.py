"""Multi-scale deformable attention, the pure-PyTorch path (``grid_sample``), always available.

Deformable DETR's attention (Zhu et al. 2021, eq. 3): each query reads ``P`` bilinearly
interpolated values per level and per head, at learned locations, and sums them with learned
weights. This file only holds the sampling-and-weighting core; projections live in
:class:`~.module.MSDeformAttn`.

Dimension legend (as in detectron2's point_rend):
    N: batch size; Lq: number of queries; S: total number of value positions, sum_l H_l * W_l;
    M: attention heads; D: channels per head; L: feature levels; P: sampling points per level
    and head; (H_l, W_l): spatial size of level l.
"""

from typing import List, Sequence, Tuple, Union

import torch
from torch.nn import functional as F

__all__ = ["ms_deform_attn_reference", "check_ms_deform_attn_inputs"]

SpatialShapes = Union[torch.Tensor, Sequence[Tuple[int, int]]]


def _as_shape_list(spatial_shapes: SpatialShapes) -> List[Tuple[int, int]]:
    if isinstance(spatial_shapes, torch.Tensor):
        spatial_shapes = spatial_shapes.tolist()
    return [(int(h), int(w)) for h, w in spatial_shapes]


def check_ms_deform_attn_inputs(value, spatial_shapes, sampling_locations, attention_weights):
    """Raise ValueError with the offending shapes when the four inputs do not fit together."""
    shapes = _as_shape_list(spatial_shapes)
    if value.dim() != 4:
        raise ValueError(f"value must be (N, S, M, D), got shape {tuple(value.shape)}.")
    n, s, m, _ = value.shape
    if sum(h * w for h, w in shapes) != s:
        raise ValueError(
            f"value has S={s} positions but spatial_shapes {shapes} sum to "
            f"{sum(h * w for h, w in shapes)}."
        )
    if sampling_locations.dim() != 6 or sampling_locations.shape[-1] != 2:
        raise ValueError(
            "sampling_locations must be (N, Lq, M, L, P, 2), got shape "
            f"{tuple(sampling_locations.shape)}."
        )
    nl, lq, ml, ll, p, _ = sampling_locations.shape
    if (nl, ml, ll) != (n, m, len(shapes)):
        raise ValueError(
            f"sampling_locations {tuple(sampling_locations.shape)} do not match value "
            f"{tuple(value.shape)} and {len(shapes)} levels."
        )
    if tuple(attention_weights.shape) != (n, lq, m, len(shapes), p):
        raise ValueError(
            f"attention_weights must be (N, Lq, M, L, P) = {(n, lq, m, len(shapes), p)}, got "
            f"{tuple(attention_weights.shape)}."
        )


def ms_deform_attn_reference(
    value: torch.Tensor,
    spatial_shapes: SpatialShapes,
    sampling_locations: torch.Tensor,
    attention_weights: torch.Tensor,
) -> torch.Tensor:
    """Sample every level at the given locations (bilinear, zero outside the map) and sum with the
    attention weights.

    Args:
        value: (N, S, M, D), the levels flattened row-major and concatenated in level order.
        spatial_shapes: (L, 2) int tensor or list of ``(H_l, W_l)``.
        sampling_locations: (N, Lq, M, L, P, 2), ``(x, y)`` in [0, 1] relative to each level's
            size, pixel centres at ``(j + 0.5) / W_l`` (``grid_sample`` with
            ``align_corners=False``); locations outside [0, 1] read zeros.
        attention_weights: (N, Lq, M, L, P), normally a softmax over (L, P).

    Returns:
        (N, Lq, M * D), differentiable in all three tensors.
    """
    check_ms_deform_attn_inputs(value, spatial_shapes, sampling_locations, attention_weights)
    shapes = _as_shape_list(spatial_shapes)
    n, _, m, d = value.shape
    _, lq, _, num_levels, p, _ = sampling_locations.shape
    value_levels = value.split([h * w for h, w in shapes], dim=1)
    grids = 2.0 * sampling_locations - 1.0  # grid_sample works in [-1, 1]
    sampled = []
    for lvl, (h, w) in enumerate(shapes):
        # (N, H*W, M, D) -> (N*M, D, H, W)
        v = value_levels[lvl].permute(0, 2, 3, 1).reshape(n * m, d, h, w)
        # (N, Lq, M, P, 2) -> (N*M, Lq, P, 2)
        g = grids[:, :, :, lvl].transpose(1, 2).reshape(n * m, lq, p, 2)
        # -> (N*M, D, Lq, P)
        sampled.append(
            F.grid_sample(v, g, mode="bilinear", padding_mode="zeros", align_corners=False)
        )
    # (N*M, D, Lq, L, P) weighted by (N*M, 1, Lq, L, P), summed over (L, P)
    stacked = torch.stack(sampled, dim=-2)
    weights = attention_weights.transpose(1, 2).reshape(n * m, 1, lq, num_levels, p)
    out = (stacked * weights).sum(dim=(-1, -2))  # (N*M, D, Lq)
    return out.view(n, m * d, lq).transpose(1, 2).contiguous()
