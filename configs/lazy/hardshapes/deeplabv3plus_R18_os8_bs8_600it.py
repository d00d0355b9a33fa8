# Twin of configs/hardshapes/deeplabv3plus_R18_os8_bs8_600it.yaml (the demo model).
from ..common.hardshapes_600it import dataloader, lr_multiplier, optimizer, train
from ..common.models.deeplabv3plus import model

model.backbone.update(
    depth=18,
    norm="BN",
    stem_type="basic",
    stem_out_channels=32,
    res2_out_channels=32,
    res4_dilation=2,
    res5_dilation=4,
    res5_multi_grid=[1, 2],
)
model.sem_seg_head.update(
    input_shape={"res2": dict(channels=32, stride=4), "res5": dict(channels=256, stride=8)},
    project_channels=[32],
    aspp_dilations=[2, 4, 6],
    aspp_pooling="global",
    train_size=None,
    decoder_channels=[128, 128],
    norm="BN",
    loss_type="cross_entropy",
    num_classes=7,
)
train.output_dir = "./output/hardshapes/deeplabv3plus_R18_os8_bs8_600it"
