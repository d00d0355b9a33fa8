# DeepLabV3+ on a dilated ResNet: the LazyConfig twin of the YAML DeepLabV3+ configs. Defaults are
# the Cityscapes R103 OS16 model; experiments change the fields they need.
from detectron2.config import LazyCall as L

from hardseg.modeling import DeepLabV3PlusPerPixelHead, HardSegmentor
from hardseg.modeling.backbone import make_resnet_dilated

model = L(HardSegmentor)(
    backbone=L(make_resnet_dilated)(
        depth=101,
        norm="SyncBN",
        stem_type="deeplab",
        stem_out_channels=128,
        res2_out_channels=256,
        num_groups=1,
        width_per_group=64,
        stride_in_1x1=False,
        res4_dilation=1,
        res5_dilation=2,
        res5_multi_grid=[1, 2, 4],
        out_features=["res2", "res5"],
        freeze_at=0,
    ),
    sem_seg_head=L(DeepLabV3PlusPerPixelHead)(
        # channels/strides of the backbone outputs (LazyCall skips from_config, so write them here)
        input_shape={
            "res2": dict(channels=256, stride=4),
            "res5": dict(channels=2048, stride=16),
        },
        project_channels=[48],
        aspp_dilations=[6, 12, 18],
        aspp_dropout=0.1,
        aspp_pooling="crop",
        train_size=(512, 1024),
        decoder_channels=[256, 256],
        common_stride=4,
        norm="SyncBN",
        loss_weight=1.0,
        loss_type="hard_pixel_mining",
        ignore_value=255,
        num_classes=19,
    ),
    pixel_mean=[123.675, 116.28, 103.53],
    pixel_std=[58.395, 57.12, 57.375],
    device="${train.device}",
)
