# Twin of configs/hardshapes/deeplabv3_R18_os8_bs8_600it.yaml: the common deeplabv3 model at HardShapes width.
from ..common.hardshapes_600it import dataloader, lr_multiplier, optimizer, train
from ..common.models.deeplabv3 import model

model.backbone.update(
    depth=18,
    norm="BN",
    stem_out_channels=32,
    res2_out_channels=32,
    res5_multi_grid=[1, 1],
)
model.sem_seg_head.update(
    input_shape={"res4": dict(channels=128, stride=8), "res5": dict(channels=256, stride=8)},
    num_classes=7,
    channels=64,
    dilations=[6, 12, 18],
    norm="BN",
)
model.aux_head.update(
    input_shape={"res4": dict(channels=128, stride=8)}, num_classes=7, channels=32, norm="BN"
)
train.output_dir = "./output/hardshapes/deeplabv3_R18_os8_bs8_600it"
