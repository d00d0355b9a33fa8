# Twin of configs/hardshapes/fcn8s_VGG16w16_bs8_600it.yaml: the common fcn8s model at HardShapes width.
from ..common.hardshapes_600it import dataloader, lr_multiplier, optimizer, train
from ..common.models.fcn8s import model

model.backbone.update(base_channels=16, fc_channels=256)
model.sem_seg_head.update(
    input_shape={
        "res3": dict(channels=64, stride=8),
        "res4": dict(channels=128, stride=16),
        "fc7": dict(channels=256, stride=32),
    },
    num_classes=7,
)
train.output_dir = "./output/hardshapes/fcn8s_VGG16w16_bs8_600it"
