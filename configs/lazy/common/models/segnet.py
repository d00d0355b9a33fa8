# SegNet (Badrinarayanan et al. 2017): VGG-16-BN encoder, max-unpooling decoder driven by the
# stored pool indices (one head behind the identity backbone). The official recipe (SegNet-
# Tutorial) is CamVid at 360x480; for Cityscapes this follows mmseg's Cityscapes 512x1024 80k
# schedule (configs/_base_/schedules/schedule_80k.py: SGD lr 0.01, poly 0.9, weight decay 5e-4,
# batch 8) with a 512x1024 crop. Encoder weights: torchvision's VGG-16-BN via
# vgg16_from_torchvision(prefix='encoder', fc=False). The LazyConfig twin of
# configs/cityscapes/semantic-segmentation/segnet_VGG16BN_bs8_80k.yaml; experiments change the
# fields they need.
from detectron2.config import LazyCall as L

from hardseg.modeling.backbone import IdentityBackbone
from hardseg.modeling.heads import SegNetHead

from .segmentor import segmentor

model = segmentor(
    backbone=L(IdentityBackbone)(size_divisibility=32),
    sem_seg_head=L(SegNetHead)(
        input_shape={"image": dict(channels=3, stride=1)},
        num_classes=19,
        in_feature="image",
        base_channels=64,
        norm="SyncBN",
        loss_type="cross_entropy",
        loss_weight=1.0,
        ignore_value=255,
    ),
)
