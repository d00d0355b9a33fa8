# Building blocks that several model files share: the dilated ResNet backbone, the FCN auxiliary
# head on res4 (mmseg's auxiliary_head: one 3x3 conv, dropout 0.1, weight 0.4) and the
# HardSegmentor with ImageNet pixel statistics. Each returns a LazyCall config, so the calling file
# (and every leaf config that imports its `model`) still changes single fields afterwards.
from detectron2.config import LazyCall as L

from hardseg.modeling import HardSegmentor
from hardseg.modeling.backbone import make_resnet_dilated
from hardseg.modeling.heads import FCNHead
from hardseg.modeling.inference import InferenceConfig


def resnet(**fields):
    """A ResNet-50 with the basic stem, no dilation and all four stages out; `fields` override."""
    defaults = dict(
        depth=50,
        norm="SyncBN",
        stem_type="basic",
        stem_out_channels=64,
        res2_out_channels=256,
        num_groups=1,
        width_per_group=64,
        stride_in_1x1=False,
        res4_dilation=1,
        res5_dilation=1,
        res5_multi_grid=[1, 1, 1],
        contract_dilation=False,
        size_divisibility=32,
        out_features=["res2", "res3", "res4", "res5"],
        freeze_at=0,
    )
    return L(make_resnet_dilated)(**{**defaults, **fields})


def fcn_aux_head(in_channels, stride, **fields):
    """The FCN auxiliary head on res4 (`in_channels` at `stride`), loss weight 0.4."""
    defaults = dict(
        input_shape={"res4": dict(channels=in_channels, stride=stride)},
        num_classes=19,
        in_feature="res4",
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout=0.1,
        norm="SyncBN",
        align_corners=False,
        loss_type="cross_entropy",
        loss_weight=0.4,
        ignore_value=255,
    )
    return L(FCNHead)(**{**defaults, **fields})


def segmentor(backbone, sem_seg_head, *, inference=None, **fields):
    """A HardSegmentor with ImageNet mean/std on `train.device`; whole-image inference unless
    `inference` is given. `fields` add further HardSegmentor arguments (e.g. `aux_head`)."""
    return L(HardSegmentor)(
        backbone=backbone,
        sem_seg_head=sem_seg_head,
        **fields,
        pixel_mean=[123.675, 116.28, 103.53],
        pixel_std=[58.395, 57.12, 57.375],
        device="${train.device}",
        inference=inference if inference is not None else L(InferenceConfig)(mode="whole"),
    )
