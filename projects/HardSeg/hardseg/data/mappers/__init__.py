from .mask_former_semantic_mapper import MaskFormerSemanticDatasetMapper, semantic_mask_targets
from .semantic_mapper import (
    SemanticDatasetMapper,
    build_sem_seg_train_aug,
    check_label_map,
    read_label_map,
)
from .two_view_mapper import TwoViewTargetMapper
