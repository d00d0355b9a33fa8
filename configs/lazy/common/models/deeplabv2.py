# DeepLab-v2 (HIAST's segmentor, docs/methods/hiast.md §8): torchvision-layout dilated ResNet-101
# (output stride 8) + the ASPP-v2 classifier. Experiments change the fields they need.
from detectron2.config import LazyCall as L

from hardseg.modeling import HardSegmentor
from hardseg.modeling.backbone import make_resnet_dilated
from hardseg.modeling.heads import ASPPV2Head

model = L(HardSegmentor)(
    backbone=L(make_resnet_dilated)(
        depth=101,
        norm="BN",
        stem_type="basic",
        stem_out_channels=64,
        res2_out_channels=256,
        stride_in_1x1=False,
        res4_dilation=2,
        res5_dilation=4,
        res5_multi_grid=[1, 1, 1],
        contract_dilation=True,
        out_features=["res5"],
        freeze_at=0,
    ),
    sem_seg_head=L(ASPPV2Head)(
        input_shape={"res5": dict(channels=2048, stride=8)},
        dilations=[6, 12, 18, 24],
        align_corners=True,
        loss_type="cross_entropy",
        ignore_value=255,
        num_classes=19,
    ),
    pixel_mean=[123.675, 116.28, 103.53],
    pixel_std=[58.395, 57.12, 57.375],
    device="${train.device}",
)
