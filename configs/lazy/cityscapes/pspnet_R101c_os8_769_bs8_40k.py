# Twin of configs/cityscapes/semantic-segmentation/pspnet_R101c_os8_769_bs8_40k.yaml.
from ..common.data.cityscapes_769 import dataloader
from ..common.models.pspnet import model
from ..common.optim import SGD as optimizer
from ..common.schedule import poly_lr_multiplier as lr_multiplier
from ..common.train import train

# The official runs' crop geometry and loss normalisation (see the YAML twin's base config):
# crops padded to exactly 769x769, slide windows unpadded, plain CE averaged over all pixels.
model.pad_to_size = (769, 769)
CE_ALL_PIXELS = [dict(name="cross_entropy", weight=1.0, options=dict(avg_over_all_pixels=True))]
model.sem_seg_head.loss_type = CE_ALL_PIXELS
model.aux_head.loss_type = CE_ALL_PIXELS
optimizer.lr = 0.01
optimizer.weight_decay = 5e-4
optimizer.params.weight_decay_norm = 5e-4
train.update(
    max_iter=40000,
    eval_period=4000,
    seed=0,
    output_dir="./output/cityscapes/pspnet_R101c_os8_769_bs8_40k",
)
train.checkpointer.period = 4000
lr_multiplier.warmup_length = 0.0
