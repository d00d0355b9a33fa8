# U-Net (Ronneberger et al. 2015), 5 levels 64->1024 channels, transposed-conv upsampling, BN
# (milesial/Pytorch-UNet layout, 31.0M parameters). No Cityscapes recipe is published for this
# U-Net; this follows mmseg's Cityscapes 512x1024 80k schedule
# (configs/_base_/schedules/schedule_80k.py: SGD lr 0.01, poly 0.9, weight decay 5e-4, batch 8)
# with a 512x1024 crop, from scratch. The LazyConfig twin of configs/cityscapes/semantic-
# segmentation/unet_s5_bs8_80k.yaml; experiments change the fields they need.
from detectron2.config import LazyCall as L

from hardseg.modeling.backbone import UNetEncoder
from hardseg.modeling.heads import UNetHead

from .segmentor import segmentor

model = segmentor(
    backbone=L(UNetEncoder)(base_channels=64, bilinear=False, norm="SyncBN"),
    sem_seg_head=L(UNetHead)(
        input_shape={
            "enc1": dict(channels=64, stride=1),
            "enc2": dict(channels=128, stride=2),
            "enc3": dict(channels=256, stride=4),
            "enc4": dict(channels=512, stride=8),
            "enc5": dict(channels=1024, stride=16),
        },
        num_classes=19,
        in_features=["enc1", "enc2", "enc3", "enc4", "enc5"],
        bilinear=False,
        norm="SyncBN",
        loss_type="cross_entropy",
        loss_weight=1.0,
        ignore_value=255,
    ),
)
