# Twin of configs/cityscapes/semantic-segmentation/pspnet_R101c_os8_769_bs8_40k.yaml.
from ..common.cityscapes_769_40k import dataloader, lr_multiplier, optimizer, train
from ..common.models.pspnet import model

# The official runs' crop geometry and loss normalisation (see the YAML twin's base config):
# crops padded to exactly 769x769, slide windows unpadded, plain CE averaged over all pixels.
model.pad_to_size = (769, 769)
CE_ALL_PIXELS = [dict(name="cross_entropy", weight=1.0, options=dict(avg_over_all_pixels=True))]
model.sem_seg_head.loss_type = CE_ALL_PIXELS
model.aux_head.loss_type = CE_ALL_PIXELS
train.output_dir = "./output/cityscapes/pspnet_R101c_os8_769_bs8_40k"
