# FCN-8s (Long et al. 2015) on VGG-16: pool3/pool4/fc7 scores fused through learned, bilinear-
# initialised deconvolutions. The paper trained on PASCAL VOC; no official Cityscapes recipe
# exists, so this follows mmseg's Cityscapes 512x1024 80k schedule
# (configs/_base_/schedules/schedule_80k.py: SGD lr 0.01, poly 0.9, weight decay 5e-4, batch 8)
# with a 512x1024 crop. Weights: torchvision's VGG-16 via
# hardseg.modeling.backbone.vgg16_from_torchvision. The LazyConfig twin of
# configs/cityscapes/semantic-segmentation/fcn8s_VGG16_bs8_80k.yaml; experiments change the fields
# they need.
from detectron2.config import LazyCall as L

from hardseg.modeling.backbone import VGG16Backbone
from hardseg.modeling.heads import FCNSkipHead

from .segmentor import segmentor

model = segmentor(
    backbone=L(VGG16Backbone)(
        base_channels=64,
        norm="",
        fc_channels=4096,
        fc_dropout=0.5,
        out_features=["res3", "res4", "fc7"],
    ),
    sem_seg_head=L(FCNSkipHead)(
        input_shape={
            "res3": dict(channels=256, stride=8),
            "res4": dict(channels=512, stride=16),
            "fc7": dict(channels=4096, stride=32),
        },
        num_classes=19,
        in_features=["res3", "res4", "fc7"],
        output_stride=8,
        learn_upsample=True,
        loss_type="cross_entropy",
        loss_weight=1.0,
        ignore_value=255,
    ),
)
