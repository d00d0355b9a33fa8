"""Mask-classification targets; they belong to the data (``hardseg.data.targets.mask``)."""

from ...data.targets.mask import semantic_mask_targets

__all__ = ["semantic_mask_targets"]
