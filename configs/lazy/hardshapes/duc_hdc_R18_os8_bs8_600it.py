# Twin of configs/hardshapes/duc_hdc_R18_os8_bs8_600it.yaml.
from detectron2.config import LazyCall as L

from hardseg.modeling import HardSegmentor
from hardseg.modeling.backbone import make_resnet_hdc
from hardseg.modeling.heads import DUCHead
from hardseg.modeling.inference import InferenceConfig

from ..common.data.hardshapes import dataloader
from ..common.optim import SGD as optimizer
from ..common.schedule import poly_lr_multiplier as lr_multiplier
from ..common.train import train

model = L(HardSegmentor)(
    backbone=L(make_resnet_hdc)(
        res4_dilations=[1, 2],
        res5_dilations=[2, 5],
        depth=18,
        norm="BN",
        stem_type="basic",
        stem_out_channels=32,
        res2_out_channels=32,
        num_groups=1,
        width_per_group=64,
        stride_in_1x1=False,
        size_divisibility=8,
        out_features=["res5"],
        freeze_at=0,
    ),
    sem_seg_head=L(DUCHead)(
        input_shape={"res5": dict(channels=256, stride=8)},
        num_classes=7,
        in_feature="res5",
        channels=64,
        upscale=0,
        norm="BN",
        loss_type="cross_entropy",
        loss_weight=1.0,
        ignore_value=255,
    ),
    pixel_mean=[123.675, 116.28, 103.53],
    pixel_std=[58.395, 57.12, 57.375],
    device="${train.device}",
    inference=L(InferenceConfig)(mode="whole"),
)
optimizer.lr = 0.02
train.update(
    max_iter=600,
    eval_period=0,
    device="cpu",
    seed=0,
    output_dir="./output/hardshapes/duc_hdc_R18_os8_bs8_600it",
)
train.checkpointer.period = 200
lr_multiplier.warmup_length = 50 / 600  # SOLVER.WARMUP_ITERS / MAX_ITER
