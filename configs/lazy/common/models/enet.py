# ENet (Paszke et al. 2016), 0.37M parameters. The paper and davidtvs/PyTorch-ENet train on
# Cityscapes at 512x1024 with Adam (lr 5e-4, weight decay 2e-4) and class-balancing weights;
# HardSeg's YAML solver is SGD, so this uses mmseg's Cityscapes 512x1024 80k schedule
# (configs/_base_/schedules/schedule_80k.py: SGD lr 0.01, poly 0.9, weight decay 5e-4, batch 8) at
# the same 512x1024 crop, from scratch, unweighted cross-entropy. The LazyConfig twin of
# configs/cityscapes/semantic-segmentation/enet_bs8_80k.yaml; experiments change the fields they
# need.
from detectron2.config import LazyCall as L

from hardseg.modeling.backbone import IdentityBackbone
from hardseg.modeling.heads import ENetHead

from .segmentor import segmentor

model = segmentor(
    backbone=L(IdentityBackbone)(size_divisibility=8),
    sem_seg_head=L(ENetHead)(
        input_shape={"image": dict(channels=3, stride=1)},
        num_classes=19,
        in_feature="image",
        base_channels=16,
        loss_type="cross_entropy",
        loss_weight=1.0,
        ignore_value=255,
    ),
)
