"""Training targets computed from a label map by the data mappers (target generators).

A target generator is called on one sample's augmented label and returns the extra dataset-dict
entries the model's losses need, as Panoptic-DeepLab's mapper takes its target generator.
"""

from .distance import (
    DISTANCE_MAP_KEYS,
    SIGNED_DIST_STEP,
    ClassMaps,
    DistanceMapTargets,
    decode_loss_map,
    dist_penalty_map,
    packed_signed_distances,
    register_loss_targets,
    signed_distance_maps,
    targets_for_losses,
)
from .mask import SemanticMaskTargets, semantic_mask_targets
