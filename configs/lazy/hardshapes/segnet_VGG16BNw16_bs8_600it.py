# Twin of configs/hardshapes/segnet_VGG16BNw16_bs8_600it.yaml: the common segnet model at HardShapes width.
from ..common.hardshapes_600it import dataloader, lr_multiplier, optimizer, train
from ..common.models.segnet import model

model.sem_seg_head.update(num_classes=7, base_channels=16, norm="BN")
train.output_dir = "./output/hardshapes/segnet_VGG16BNw16_bs8_600it"
