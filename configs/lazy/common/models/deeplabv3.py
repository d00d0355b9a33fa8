# DeepLabV3 (Chen et al. 2017) on ResNet-50 at output stride 8: ASPP 256 channels, rates 12/24/36,
# global image pooling, one 3x3 conv (torchvision's deeplabv3_resnet50 layout), FCN auxiliary head
# on res4 (weight 0.4). Schedule of mmseg's deeplabv3_r50-d8_512x1024_80k_cityscapes,
# mmseg's Cityscapes 512x1024 80k schedule (configs/_base_/schedules/schedule_80k.py: SGD lr 0.01,
# poly 0.9, weight decay 5e-4, batch 8). The LazyConfig twin of configs/cityscapes/semantic-
# segmentation/deeplabv3_R50_os8_bs8_80k.yaml; experiments change the fields they need.
from detectron2.config import LazyCall as L

from hardseg.modeling.heads import DeepLabV3PerPixelHead

from .segmentor import fcn_aux_head, resnet, segmentor

model = segmentor(
    backbone=resnet(
        res4_dilation=2, res5_dilation=4, size_divisibility=8, out_features=["res4", "res5"]
    ),
    sem_seg_head=L(DeepLabV3PerPixelHead)(
        input_shape={"res4": dict(channels=1024, stride=8), "res5": dict(channels=2048, stride=8)},
        num_classes=19,
        in_feature="res5",
        channels=256,
        dilations=[12, 24, 36],
        aspp_dropout=0.1,
        num_convs=1,
        pool_kernel_size=None,
        norm="SyncBN",
        loss_type="cross_entropy",
        loss_weight=1.0,
        ignore_value=255,
        predictor_init_std=0.01,
    ),
    aux_head=fcn_aux_head(1024, 8),
)
