# Turn a per-pixel loader config (from semantic.py and a dataset file) into a mask-classification
# one: the training mapper becomes MaskFormerSemanticDatasetMapper (per-class binary masks,
# size-divisibility padding), the twin of INPUT.DATASET_MAPPER_NAME "mask_former_semantic".
from detectron2.config import LazyCall as L
from detectron2.data import transforms as T
from detectron2.projects.point_rend import ColorAugSSDTransform

from hardseg.data.mappers import MaskFormerSemanticDatasetMapper


def use_mask_former_mapper(
    dataloader, size_divisibility=-1, color_aug_ssd=False, label_resize="pil"
):
    """Switch ``dataloader.train.mapper`` in place (INPUT.SIZE_DIVISIBILITY = size_divisibility,
    INPUT.COLOR_AUG_SSD = color_aug_ssd: ColorAugSSDTransform before the flip, INPUT.LABEL_RESIZE
    = label_resize; docs/methods/mask2former.md §6)."""
    mapper = dataloader.train.mapper
    mapper._target_ = MaskFormerSemanticDatasetMapper
    mapper.size_divisibility = size_divisibility
    mapper.label_resize = label_resize
    if color_aug_ssd:
        augs = list(mapper.augmentations)
        flips = [i for i, a in enumerate(augs) if a._target_ is T.RandomFlip]
        at = flips[0] if flips else len(augs)
        augs.insert(at, L(ColorAugSSDTransform)(img_format=mapper.image_format))
        mapper.augmentations = augs
    return dataloader
