# Twin of configs/hardshapes/duc_hdc_R18_os8_bs8_600it.yaml: the common duc_hdc model at HardShapes width.
from ..common.hardshapes_600it import dataloader, lr_multiplier, optimizer, train
from ..common.models.duc_hdc import model

model.backbone.update(
    res4_dilations=[1, 2],
    res5_dilations=[2, 5],
    depth=18,
    norm="BN",
    stem_out_channels=32,
    res2_out_channels=32,
)
model.sem_seg_head.update(
    input_shape={"res5": dict(channels=256, stride=8)}, num_classes=7, channels=64, norm="BN"
)
train.output_dir = "./output/hardshapes/duc_hdc_R18_os8_bs8_600it"
