"""Dispatch between an optional compiled kernel and the pure-PyTorch reference.

No compiled multi-scale deformable-attention kernel ships with HardSeg: the import below looks
for an optional extension module ``hardseg_ms_deform_attn_C`` (built separately, never required)
and, when it is absent, every call uses :func:`.reference.ms_deform_attn_reference`. Importing
this module never fails for lack of CUDA or of the extension (Mask2Former's op package raises
ModuleNotFoundError at import in that case; its issues #39 and #197). A kernel, if one is added,
must expose ``ms_deform_attn_forward(value, spatial_shapes, level_start_index,
sampling_locations, attention_weights, im2col_step)`` with autograd support, and
tests/modeling/test_deform_attn.py checks it against the reference on CUDA.

Shapes and the dimension legend are those of :mod:`.reference`.
"""

import logging

import torch

from .reference import ms_deform_attn_reference

__all__ = ["ms_deform_attn", "kernel_available"]

logger = logging.getLogger(__name__)

try:
    import hardseg_ms_deform_attn_C as _C  # optional compiled kernel
except ImportError:
    _C = None
    logger.debug("No compiled deformable-attention kernel: using the grid_sample reference.")


def kernel_available() -> bool:
    """True when the optional compiled kernel was imported."""
    return _C is not None


def ms_deform_attn(
    value: torch.Tensor,
    spatial_shapes: torch.Tensor,
    level_start_index: torch.Tensor,
    sampling_locations: torch.Tensor,
    attention_weights: torch.Tensor,
    im2col_step: int = 64,
    use_kernel: bool = True,
) -> torch.Tensor:
    """Multi-scale deformable attention, (N, Lq, M * D). Uses the compiled kernel when it is
    available, ``use_kernel`` is True and the inputs are on CUDA; the reference otherwise.

    Args:
        value, spatial_shapes, sampling_locations, attention_weights: see
            :func:`.reference.ms_deform_attn_reference`.
        level_start_index: (L,) int64, offset of each level in the S axis (kernel only).
        im2col_step: the kernel's batch chunk (kernel only).
    """
    if use_kernel and _C is not None and value.is_cuda:
        return _C.ms_deform_attn_forward(
            value,
            spatial_shapes,
            level_start_index,
            sampling_locations,
            attention_weights,
            im2col_step,
        )
    return ms_deform_attn_reference(value, spatial_shapes, sampling_locations, attention_weights)
