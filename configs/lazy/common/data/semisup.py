# Turn a per-pixel training loader config (semantic.py + a dataset file) into the two-stream
# (labeled + unlabeled) loader of semi-supervised models: the LazyConfig twin of
# DATASETS.TRAIN_UNLABELED + SOLVER.IMS_PER_BATCH_UNLABELED (hardseg.data.semisup_loader).
from detectron2.config import LazyCall as L
from detectron2.data import get_detection_dataset_dicts
from detectron2.data import transforms as T

from hardseg.data import SemanticDatasetMapper
from hardseg.data.semisup_loader import build_two_stream_loader


def two_stream_loader(train, total_batch_size_unlabeled):
    """A ``build_two_stream_loader`` config from ``train`` (a ``build_resumable_train_loader``
    config whose mapper augmentations include a category-area crop): the labeled stream keeps
    ``train``'s dataset, mapper, batch and workers; the unlabeled stream (``unlabeled_dataset.names``
    left to set) reads no label and gets the same augmentations with the plain crop of the same
    size in place of the category-area crop, as ``unlabeled_weak_augmentations`` does for YAML."""

    def plain(aug):
        if aug._target_ is not T.RandomCrop_CategoryAreaConstraint:
            return aug
        return L(T.RandomCrop)(crop_type=aug.crop_type, crop_size=aug.crop_size)

    return L(build_two_stream_loader)(
        dataset=train.dataset,
        unlabeled_dataset=L(get_detection_dataset_dicts)(names="???", filter_empty=False),
        mapper=train.mapper,
        unlabeled_mapper=L(SemanticDatasetMapper)(
            is_train=False,  # no label read; the augmentations are the training ones
            augmentations=[plain(a) for a in train.mapper.augmentations],
            image_format=train.mapper.image_format,
            num_classes=train.mapper.num_classes,
            ignore_value=train.mapper.ignore_value,
        ),
        total_batch_size=train.total_batch_size,
        total_batch_size_unlabeled=total_batch_size_unlabeled,
        aspect_ratio_grouping=train.aspect_ratio_grouping,
        num_workers=train.num_workers,
    )
