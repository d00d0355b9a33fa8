# Twin of configs/cityscapes/semantic-segmentation/unet_s5_bs8_80k.yaml.
from ..common.data.cityscapes import dataloader
from ..common.models.unet import model
from ..common.optim import SGD as optimizer
from ..common.schedule import poly_lr_multiplier as lr_multiplier
from ..common.train import train

dataloader.train.total_batch_size = 8
optimizer.lr = 0.01
optimizer.weight_decay = 5e-4
train.update(
    max_iter=80000,
    eval_period=8000,
    seed=0,
    output_dir="./output/cityscapes/unet_s5_bs8_80k",
)
train.checkpointer.period = 8000
lr_multiplier.warmup_length = 0.0
