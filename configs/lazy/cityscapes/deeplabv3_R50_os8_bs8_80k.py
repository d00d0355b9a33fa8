# Twin of configs/cityscapes/semantic-segmentation/deeplabv3_R50_os8_bs8_80k.yaml.
from ..common.cityscapes_80k import dataloader, lr_multiplier, optimizer, train
from ..common.models.deeplabv3 import model

train.output_dir = "./output/cityscapes/deeplabv3_R50_os8_bs8_80k"
