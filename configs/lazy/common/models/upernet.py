# UPerNet (Xiao et al. 2018) on ResNet-50: PPM (1,2,3,6) on res5 + FPN, fused at 1/4, 512
# channels, FCN auxiliary head on res4 (weight 0.4): mmseg's upernet_r50_512x1024_80k_cityscapes
# (78.19 mIoU), mmseg's Cityscapes 512x1024 80k schedule
# (configs/_base_/schedules/schedule_80k.py: SGD lr 0.01, poly 0.9, weight decay 5e-4, batch 8).
# mmseg uses ResNet-50-V1c (deep stem); this uses the basic stem so that torchvision's ResNet-50
# weights load (resnet_from_torchvision). The LazyConfig twin of configs/cityscapes/semantic-
# segmentation/upernet_R50_bs8_80k.yaml; experiments change the fields they need.
from detectron2.config import LazyCall as L

from hardseg.modeling.heads import UPerNetHead

from .segmentor import fcn_aux_head, resnet, segmentor

model = segmentor(
    backbone=resnet(),
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
    aux_head=fcn_aux_head(1024, 16),
)
