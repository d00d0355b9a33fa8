# Twin of configs/cityscapes/semantic-segmentation/fcn_hr48_512x1024_bs8_40k.yaml.
from ..common.data.cityscapes import dataloader
from ..common.data.mmseg_pipeline import use_mmseg_crop_and_photometric
from ..common.models.hrnet import model
from ..common.optim import SGD as optimizer
from ..common.schedule import poly_lr_multiplier as lr_multiplier
from ..common.train import train

dataloader.train.total_batch_size = 8
optimizer.lr = 0.01
optimizer.weight_decay = 5e-4
train.update(
    max_iter=40000,
    eval_period=4000,
    output_dir="./output/cityscapes/fcn_hr48_512x1024_bs8_40k",
)
train.checkpointer.period = 4000
lr_multiplier.warmup_length = 0.0
# the official dataset config's RandomCrop(cat_max_ratio=0.75) and PhotoMetricDistortion
use_mmseg_crop_and_photometric(dataloader, cat_max_ratio=0.75)
