# Twin of configs/cityscapes/semantic-segmentation/segnet_VGG16BN_bs8_80k.yaml.
from ..common.cityscapes_80k import dataloader, lr_multiplier, optimizer, train
from ..common.models.segnet import model

train.output_dir = "./output/cityscapes/segnet_VGG16BN_bs8_80k"
