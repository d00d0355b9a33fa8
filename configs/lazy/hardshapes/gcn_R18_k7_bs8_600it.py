# Twin of configs/hardshapes/gcn_R18_k7_bs8_600it.yaml: the common gcn model at HardShapes width.
from ..common.hardshapes_600it import dataloader, lr_multiplier, optimizer, train
from ..common.models.gcn import model

model.backbone.update(
    depth=18,
    norm="BN",
    stem_out_channels=32,
    res2_out_channels=32,
    res5_multi_grid=[1, 1],
)
model.sem_seg_head.update(
    input_shape={
        "res2": dict(channels=32, stride=4),
        "res3": dict(channels=64, stride=8),
        "res4": dict(channels=128, stride=16),
        "res5": dict(channels=256, stride=32),
    },
    num_classes=7,
    channels=7,
    kernel_size=7,
)
train.output_dir = "./output/hardshapes/gcn_R18_k7_bs8_600it"
