# Twin of configs/hardshapes/uda/deeplabv2_R18_source_only_tiny.yaml: stage 0 of the
# hardshapes -> hardshapes_shifted HIAST chain (DeepLab-v2 layout, ResNet-18 at 1/8 width).
# The YAML form is the one tools/run_self_training.py runs; this twin uses Adam with a cosine
# multiplier, whose floor scales with each group's LR (the YAML's SharedFloorCosineLR keeps one
# floor for all groups, as the official code).
from fvcore.common.param_scheduler import CosineParamScheduler

from detectron2.config import LazyCall as L

from hardseg.solver import make_optimizer, param_groups

from ..common.data.hardshapes import dataloader
from ..common.models.deeplabv2 import model
from ..common.train import train

model.backbone.update(depth=18, stem_out_channels=8, res2_out_channels=8, res5_multi_grid=[1, 1])
model.sem_seg_head.update(
    input_shape={"res5": dict(channels=64, stride=8)}, dilations=[1, 2, 3, 4], num_classes=7
)
dataloader.train.mapper.augmentations[0].short_edge_length = (64,)
dataloader.train.mapper.augmentations[1].crop_size = (64, 64)
dataloader.train.update(total_batch_size=2, num_workers=0)
dataloader.test.dataset.names = "hardshapes_shifted_sem_seg_val"
dataloader.test.mapper.augmentations[0].short_edge_length = 64
dataloader.test.num_workers = 0
optimizer = L(make_optimizer)(
    params=L(param_groups)(  # .model set at run time
        base_lr="${..lr}",
        weight_decay="${..weight_decay}",
        weight_decay_norm=5e-4,
        backbone_multiplier=0.1,
    ),
    name="ADAM",
    lr=1e-3,
    weight_decay=5e-4,
)
lr_multiplier = L(CosineParamScheduler)(start_value=1.0, end_value=1e-3)
train.update(
    max_iter=6,
    eval_period=0,
    device="cpu",
    seed=0,
    output_dir="./output/hardshapes/uda/deeplabv2_R18_source_only_tiny",
)
train.checkpointer.period = 3
