# Twin of configs/hardshapes/unet_s5w16_bs8_600it.yaml: the common unet model at HardShapes width.
from ..common.hardshapes_600it import dataloader, lr_multiplier, optimizer, train
from ..common.models.unet import model

model.backbone.update(base_channels=16, norm="BN")
model.sem_seg_head.update(
    input_shape={
        "enc1": dict(channels=16, stride=1),
        "enc2": dict(channels=32, stride=2),
        "enc3": dict(channels=64, stride=4),
        "enc4": dict(channels=128, stride=8),
        "enc5": dict(channels=256, stride=16),
    },
    num_classes=7,
    norm="BN",
)
train.output_dir = "./output/hardshapes/unet_s5w16_bs8_600it"
