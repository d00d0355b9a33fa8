# GCN (Peng et al. 2017): global convolution k=15 and boundary refinement on res2..res5 of a
# ResNet-101 (output stride 32), K score maps, top-down deconvolution decoder. No official code or
# Cityscapes schedule is public (the paper reports ResNet-152 on Cityscapes with a multi-stage
# schedule); this follows mmseg's Cityscapes 512x1024 80k schedule
# (configs/_base_/schedules/schedule_80k.py: SGD lr 0.01, poly 0.9, weight decay 5e-4, batch 8)
# with a 512x1024 crop. Weights: torchvision's ResNet-101 via resnet_from_torchvision. The
# LazyConfig twin of configs/cityscapes/semantic-segmentation/gcn_R101_k15_bs8_80k.yaml;
# experiments change the fields they need.
from detectron2.config import LazyCall as L

from hardseg.modeling.heads import GCNHead

from .segmentor import resnet, segmentor

model = segmentor(
    backbone=resnet(depth=101),
    sem_seg_head=L(GCNHead)(
        input_shape={
            "res2": dict(channels=256, stride=4),
            "res3": dict(channels=512, stride=8),
            "res4": dict(channels=1024, stride=16),
            "res5": dict(channels=2048, stride=32),
        },
        num_classes=19,
        in_features=["res2", "res3", "res4", "res5"],
        channels=19,
        kernel_size=15,
        loss_type="cross_entropy",
        loss_weight=1.0,
        ignore_value=255,
    ),
)
