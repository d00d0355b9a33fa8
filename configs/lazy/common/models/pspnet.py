# PSPNet on a dilated ResNet-101-V1c with the FCN auxiliary head on res4 (weight 0.4): the
# LazyConfig twin of the YAML PSPNet configs. Defaults are the Cityscapes 769x769 model (mmseg
# pspnet_r101-d8); experiments change the fields they need.
from detectron2.config import LazyCall as L

from hardseg.modeling import PSPNetHead
from hardseg.modeling.inference import InferenceConfig

from .segmentor import fcn_aux_head, resnet, segmentor

model = segmentor(
    backbone=resnet(
        depth=101,
        stem_type="deeplab",
        res4_dilation=2,
        res5_dilation=4,
        contract_dilation=True,
        size_divisibility=8,
        out_features=["res4", "res5"],
    ),
    sem_seg_head=L(PSPNetHead)(
        # channels/strides of the backbone outputs (LazyCall skips from_config, so write them here)
        input_shape={"res4": dict(channels=1024, stride=8), "res5": dict(channels=2048, stride=8)},
        num_classes=19,
        in_feature="res5",
        pool_scales=[1, 2, 3, 6],
        channels=512,
        dropout=0.1,
        norm="SyncBN",
        align_corners=True,
        loss_type="cross_entropy",
        loss_weight=1.0,
        ignore_value=255,
    ),
    aux_head=fcn_aux_head(1024, 8, align_corners=True),
    inference=L(InferenceConfig)(mode="slide", crop_size=(769, 769), stride=(513, 513)),
)
