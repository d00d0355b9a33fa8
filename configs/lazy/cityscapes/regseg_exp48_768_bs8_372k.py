# Twin of configs/cityscapes/semantic-segmentation/regseg_exp48_768_bs8_372k.yaml.
from ..common.data.cityscapes import dataloader
from ..common.models.regseg import regseg
from ..common.optim import SGD as optimizer
from ..common.schedule import poly_lr_multiplier as lr_multiplier
from ..common.train import train

model = regseg(num_classes=19)
dataloader.train.mapper.augmentations[0].update(
    short_edge_length=(400, 600, 800, 1000, 1200, 1400, 1600), max_size=3200
)
dataloader.train.mapper.augmentations[1].crop_size = (768, 768)
dataloader.train.total_batch_size = 8
optimizer.lr = 0.05
train.update(
    max_iter=371875, eval_period=37000, output_dir="./output/cityscapes/regseg_exp48_768_bs8_372k"
)
train.checkpointer.period = 10000
lr_multiplier.update(warmup_length=3000 / 371875, warmup_factor=0.1)
