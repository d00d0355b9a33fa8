# Twin of configs/cityscapes/semantic-segmentation/fcn8s_VGG16_bs8_80k.yaml.
from ..common.cityscapes_80k import dataloader, lr_multiplier, optimizer, train
from ..common.models.fcn8s import model

train.output_dir = "./output/cityscapes/fcn8s_VGG16_bs8_80k"
