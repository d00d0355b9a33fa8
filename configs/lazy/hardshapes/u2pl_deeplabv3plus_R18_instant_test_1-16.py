# Twin of configs/hardshapes/u2pl_deeplabv3plus_R18_instant_test_1-16.yaml: U2PL on hardshapes 1/16
# with the instant-test DeepLabV3+ as student and teacher. U2PLConfig's defaults are the official
# behaviour (label_onehot, class_index, align_corners: docs/methods/u2pl.md §13).
from detectron2.config import LazyCall as L
from detectron2.data import get_detection_dataset_dicts
from detectron2.data import transforms as T

from hardseg.data import SemanticDatasetMapper
from hardseg.data.semisup_loader import build_two_stream_loader
from hardseg.modeling.meta_arch import U2PL, U2PLConfig
from hardseg.modeling.semisup import RepresentationHead, SegmentorWithEmbed

from ..quick_schedules.deeplabv3plus_R18_instant_test import (  # noqa: F401
    dataloader,
    lr_multiplier,
    optimizer,
    train,
)
from ..quick_schedules.deeplabv3plus_R18_instant_test import model as segmentor


def _branch():
    # The embedding head reads DeepLabV3+'s decoder concat: project_channels + ASPP channels.
    return L(SegmentorWithEmbed)(
        segmentor=segmentor,
        rep_head=L(RepresentationHead)(in_channels=8 + 16, dim=16, dropout=0.1, norm="BN"),
        embed_in_feature="decoder_concat",
        device="${train.device}",
    )


model = L(U2PL)(
    student=_branch(),
    teacher=_branch(),
    config=L(U2PLConfig)(
        num_classes=7,
        ignore_value=255,
        epoch_iters=5,
        max_iter="${train.max_iter}",
        sup_only_epochs=1,
        queue_size=300,
        queue_size_class0=500,
        num_queries=32,
        num_negatives=8,
    ),
)

_labeled_mapper = dataloader.train.mapper
dataloader.train = L(build_two_stream_loader)(
    dataset=L(get_detection_dataset_dicts)(
        names="hardshapes_sem_seg_train_1-16_labeled", filter_empty=False
    ),
    unlabeled_dataset=L(get_detection_dataset_dicts)(
        names="hardshapes_sem_seg_train_1-16_unlabeled", filter_empty=False
    ),
    mapper=_labeled_mapper,
    unlabeled_mapper=L(SemanticDatasetMapper)(
        is_train=False,  # no label read; weak training augmentation, crop without label check
        augmentations=[
            L(T.ResizeShortestEdge)(short_edge_length=(64,), max_size=640, sample_style="choice"),
            L(T.RandomCrop)(crop_type="absolute", crop_size=(64, 64)),
            L(T.RandomFlip)(horizontal=True),
        ],
        image_format="RGB",
        num_classes=7,
        ignore_value=255,
    ),
    total_batch_size=2,
    total_batch_size_unlabeled=2,
    aspect_ratio_grouping=False,
    num_workers=0,
)
train.output_dir = "./output/hardshapes/u2pl_deeplabv3plus_R18_instant_test_1-16"
