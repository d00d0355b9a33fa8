# Twin of configs/cityscapes/semantic-segmentation/duc_hdc_R101_os8_bs8_80k.yaml.
from ..common.cityscapes_80k import dataloader, lr_multiplier, optimizer, train
from ..common.models.duc_hdc import model

train.output_dir = "./output/cityscapes/duc_hdc_R101_os8_bs8_80k"
