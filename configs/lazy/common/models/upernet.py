# UPerNet (Xiao et al. 2018) on ResNet-50: PPM (1,2,3,6) on res5 + FPN, fused at 1/4, 512
# channels, FCN auxiliary head on res4 (weight 0.4): mmseg's upernet_r50_512x1024_80k_cityscapes
# (78.19 mIoU), mmseg's Cityscapes 512x1024 80k schedule
# (configs/_base_/schedules/schedule_80k.py: SGD lr 0.01, poly 0.9, weight decay 5e-4, batch 8).
# mmseg uses ResNet-50-V1c (deep stem); this uses the basic stem so that torchvision's ResNet-50
# weights load (resnet_from_torchvision). The LazyConfig twin of configs/cityscapes/semantic-
# segmentation/upernet_R50_bs8_80k.yaml; experiments change the fields they need.
from detectron2.config import LazyCall as L

from hardseg.modeling import HardSegmentor
from hardseg.modeling.backbone import make_resnet_dilated
from hardseg.modeling.heads import FCNHead, UPerNetHead
from hardseg.modeling.inference import InferenceConfig

model = L(HardSegmentor)(
    backbone=L(make_resnet_dilated)(
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
    ),
    sem_seg_head=L(UPerNetHead)(
        input_shape={
            "res2": dict(channels=256, stride=4),
            "res3": dict(channels=512, stride=8),
            "res4": dict(channels=1024, stride=16),
            "res5": dict(channels=2048, stride=32),
        },
        num_classes=19,
        in_features=["res2", "res3", "res4", "res5"],
        channels=512,
        pool_scales=[1, 2, 3, 6],
        dropout=0.1,
        norm="SyncBN",
        align_corners=False,
        loss_type="cross_entropy",
        loss_weight=1.0,
        ignore_value=255,
    ),
    aux_head=L(FCNHead)(
        input_shape={"res4": dict(channels=1024, stride=16)},
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
    ),
    pixel_mean=[123.675, 116.28, 103.53],
    pixel_std=[58.395, 57.12, 57.375],
    device="${train.device}",
    inference=L(InferenceConfig)(mode="whole"),
)
