"""Mask classification (MaskFormer / Mask2Former): head, matcher, criterion, semantic inference
and the HL branch for mask losses."""

from .cac_branch import MaskCACBranch
from .criterion import MaskClassificationCriterion
from .hardness_branch import MaskHardnessBranch
from .mask_former_head import MaskFormerHead
from .matcher import HungarianMatcher, min_cost_assignment
from .semantic_inference import semantic_inference
from .targets import semantic_mask_targets
