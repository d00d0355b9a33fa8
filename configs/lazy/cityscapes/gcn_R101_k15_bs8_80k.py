# Twin of configs/cityscapes/semantic-segmentation/gcn_R101_k15_bs8_80k.yaml.
from ..common.cityscapes_80k import dataloader, lr_multiplier, optimizer, train
from ..common.models.gcn import model

train.output_dir = "./output/cityscapes/gcn_R101_k15_bs8_80k"
