# Twin of configs/hardshapes/pspnet_R18_os8_bs8_600it.yaml.
from detectron2.config import LazyCall as L

from hardseg.modeling.inference import InferenceConfig

from ..common.hardshapes_600it import dataloader, lr_multiplier, optimizer, train
from ..common.models.pspnet import model

model.backbone.update(
    depth=18,
    norm="BN",
    stem_type="basic",
    stem_out_channels=32,
    res2_out_channels=32,
    res5_multi_grid=[1, 1],
    size_divisibility=0,
)
model.sem_seg_head.update(
    input_shape={"res4": dict(channels=128, stride=8), "res5": dict(channels=256, stride=8)},
    num_classes=7,
    channels=64,
    norm="BN",
    align_corners=False,
)
model.aux_head.update(
    input_shape={"res4": dict(channels=128, stride=8)},
    num_classes=7,
    channels=32,
    norm="BN",
    align_corners=False,
)
model.inference = L(InferenceConfig)(mode="whole")
train.output_dir = "./output/hardshapes/pspnet_R18_os8_bs8_600it"
