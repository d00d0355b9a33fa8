# Twin of configs/pascal_context/semantic-segmentation/fcn_hr48_480_bs16_60k_pc59.yaml.
from ..common.data.pascal_context import dataloader
from ..common.data.mmseg_pipeline import use_mmseg_crop_and_photometric
from ..common.models.hrnet import fcn_head, mmseg_ohem_ce, model
from ..common.optim import SGD as optimizer
from ..common.schedule import poly_lr_multiplier as lr_multiplier
from ..common.train import train
from hardseg.modeling.inference import InferenceConfig
from detectron2.config import LazyCall as L
from hardseg.solver import param_groups

model.sem_seg_head = fcn_head(num_classes=59, loss_type=mmseg_ohem_ce(class_weights=None))
model.inference = L(InferenceConfig)(mode="slide", crop_size=(480, 480), stride=(320, 320))
# the official head lr_mult 10: backbone 0.004, head (CAC's modules included) 0.04
optimizer.params = L(param_groups)(
    base_lr="${..lr}",
    weight_decay="${..weight_decay}",
    weight_decay_norm=0.0,
    backbone_multiplier=0.1,
)
optimizer.lr = 0.04
optimizer.weight_decay = 1e-4
train.update(
    max_iter=60000,
    eval_period=6000,
    output_dir="./output/pascal_context/fcn_hr48_480_bs16_60k_pc59",
)
train.checkpointer.period = 6000
lr_multiplier.warmup_length = 0.0
# the official dataset config's RandomCrop(cat_max_ratio=0.75) and PhotoMetricDistortion
use_mmseg_crop_and_photometric(dataloader, cat_max_ratio=0.75)
