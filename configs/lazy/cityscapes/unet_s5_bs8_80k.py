# Twin of configs/cityscapes/semantic-segmentation/unet_s5_bs8_80k.yaml.
from ..common.cityscapes_80k import dataloader, lr_multiplier, optimizer, train
from ..common.models.unet import model

train.output_dir = "./output/cityscapes/unet_s5_bs8_80k"
