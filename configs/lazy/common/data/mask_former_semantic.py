# Turn a per-pixel loader config (from semantic.py and a dataset file) into a mask-classification
# one: the training mapper becomes MaskFormerSemanticDatasetMapper (per-class binary masks,
# size-divisibility padding), the twin of INPUT.DATASET_MAPPER_NAME "mask_former_semantic".
from hardseg.data.mappers import MaskFormerSemanticDatasetMapper


def use_mask_former_mapper(dataloader, size_divisibility=-1):
    """Switch ``dataloader.train.mapper`` in place (INPUT.SIZE_DIVISIBILITY = size_divisibility)."""
    dataloader.train.mapper._target_ = MaskFormerSemanticDatasetMapper
    dataloader.train.mapper.size_divisibility = size_divisibility
    return dataloader
