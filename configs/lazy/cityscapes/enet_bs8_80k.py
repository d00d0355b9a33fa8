# Twin of configs/cityscapes/semantic-segmentation/enet_bs8_80k.yaml.
from ..common.cityscapes_80k import dataloader, lr_multiplier, optimizer, train
from ..common.models.enet import model

train.output_dir = "./output/cityscapes/enet_bs8_80k"
