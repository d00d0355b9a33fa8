# DUC-HDC (Wang et al. 2018): ResNet-101 at output stride 8 with saw-tooth dilations (res4 1,2,5,9
# cycled; res5 5,9,17) and a dense-upsampling head (8x8 pixel shuffle to full resolution).
# TuSimple-DUC trains on Cityscapes 800x800 crops (MXNet); batch and schedule here follow mmseg's
# Cityscapes 512x1024 80k schedule (configs/_base_/schedules/schedule_80k.py: SGD lr 0.01, poly
# 0.9, weight decay 5e-4, batch 8) with a 512x1024 crop. The LazyConfig twin of
# configs/cityscapes/semantic-segmentation/duc_hdc_R101_os8_bs8_80k.yaml; experiments change the
# fields they need.
from detectron2.config import LazyCall as L

from hardseg.modeling.backbone import make_resnet_hdc
from hardseg.modeling.heads import DUCHead

from .segmentor import segmentor

model = segmentor(
    backbone=L(make_resnet_hdc)(
        res4_dilations=[1, 2, 5, 9],
        res5_dilations=[5, 9, 17],
        depth=101,
        norm="SyncBN",
        stem_type="basic",
        stem_out_channels=64,
        res2_out_channels=256,
        num_groups=1,
        width_per_group=64,
        stride_in_1x1=False,
        size_divisibility=8,
        out_features=["res5"],
        freeze_at=0,
    ),
    sem_seg_head=L(DUCHead)(
        input_shape={"res5": dict(channels=2048, stride=8)},
        num_classes=19,
        in_feature="res5",
        channels=512,
        upscale=0,
        norm="SyncBN",
        loss_type="cross_entropy",
        loss_weight=1.0,
        ignore_value=255,
    ),
)
