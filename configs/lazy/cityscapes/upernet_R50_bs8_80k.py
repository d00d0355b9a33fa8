# Twin of configs/cityscapes/semantic-segmentation/upernet_R50_bs8_80k.yaml.
from ..common.cityscapes_80k import dataloader, lr_multiplier, optimizer, train
from ..common.models.upernet import model

train.output_dir = "./output/cityscapes/upernet_R50_bs8_80k"
