# PSPNet on a dilated ResNet-101-V1c with the FCN auxiliary head on res4 (weight 0.4): the
# LazyConfig twin of the YAML PSPNet configs. Defaults are the Cityscapes 769x769 model (mmseg
# pspnet_r101-d8); experiments change the fields they need.
from detectron2.config import LazyCall as L

from hardseg.modeling import FCNHead, HardSegmentor, PSPNetHead
from hardseg.modeling.backbone import make_resnet_dilated
from hardseg.modeling.inference import InferenceConfig

model = L(HardSegmentor)(
    backbone=L(make_resnet_dilated)(
        depth=101,
        norm="SyncBN",
        stem_type="deeplab",
        stem_out_channels=64,
        res2_out_channels=256,
        num_groups=1,
        width_per_group=64,
        stride_in_1x1=False,
        res4_dilation=2,
        res5_dilation=4,
        res5_multi_grid=[1, 1, 1],
        contract_dilation=True,
        size_divisibility=8,
        out_features=["res4", "res5"],
        freeze_at=0,
    ),
    sem_seg_head=L(PSPNetHead)(
        # channels/strides of the backbone outputs (LazyCall skips from_config, so write them here)
        input_shape={"res4": dict(channels=1024, stride=8), "res5": dict(channels=2048, stride=8)},
        num_classes=19,
        in_feature="res5",
        pool_scales=[1, 2, 3, 6],
        channels=512,
        dropout=0.1,
        norm="SyncBN",
        align_corners=True,
        loss_type="cross_entropy",
        loss_weight=1.0,
        ignore_value=255,
    ),
    aux_head=L(FCNHead)(
        input_shape={"res4": dict(channels=1024, stride=8)},
        num_classes=19,
        in_feature="res4",
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout=0.1,
        norm="SyncBN",
        align_corners=True,
        loss_type="cross_entropy",
        loss_weight=0.4,
        ignore_value=255,
    ),
    pixel_mean=[123.675, 116.28, 103.53],
    pixel_std=[58.395, 57.12, 57.375],
    device="${train.device}",
    inference=L(InferenceConfig)(mode="slide", crop_size=(769, 769), stride=(513, 513)),
)
