# mmseg's per-pixel training pipeline pieces on a loader config from semantic.py and a dataset
# file: the twin of INPUT.CROP.SINGLE_CATEGORY_MAX_AREA and INPUT.COLOR_AUG_SSD in a YAML config
# (docs/methods/cac.md §8).
from detectron2.config import LazyCall as L
from detectron2.data import transforms as T
from detectron2.projects.point_rend import ColorAugSSDTransform


def use_mmseg_crop_and_photometric(dataloader, cat_max_ratio=0.75):
    """In place on ``dataloader.train.mapper``: at most ``cat_max_ratio`` of the crop's labelled
    pixels in one class (mmseg's ``RandomCrop(cat_max_ratio)``), and ColorAugSSDTransform (mmseg's
    ``PhotoMetricDistortion``) after the crop, before the flip, as build_sem_seg_train_aug."""
    mapper = dataloader.train.mapper
    augs = list(mapper.augmentations)
    crops = [a for a in augs if a._target_ is T.RandomCrop_CategoryAreaConstraint]
    if len(crops) != 1:
        raise ValueError(f"expected one RandomCrop_CategoryAreaConstraint, got {len(crops)}")
    crops[0].single_category_max_area = cat_max_ratio
    flips = [i for i, a in enumerate(augs) if a._target_ is T.RandomFlip]
    at = flips[0] if flips else len(augs)
    augs.insert(at, L(ColorAugSSDTransform)(img_format=mapper.image_format))
    mapper.augmentations = augs
    return dataloader
