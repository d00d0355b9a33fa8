# Twin of configs/hardshapes/enet_bs8_600it.yaml.
from detectron2.config import LazyCall as L

from hardseg.modeling import HardSegmentor
from hardseg.modeling.backbone import IdentityBackbone
from hardseg.modeling.heads import ENetHead
from hardseg.modeling.inference import InferenceConfig

from ..common.data.hardshapes import dataloader
from ..common.optim import SGD as optimizer
from ..common.schedule import poly_lr_multiplier as lr_multiplier
from ..common.train import train

model = L(HardSegmentor)(
    backbone=L(IdentityBackbone)(size_divisibility=8),
    sem_seg_head=L(ENetHead)(
        input_shape={"image": dict(channels=3, stride=1)},
        num_classes=7,
        in_feature="image",
        base_channels=16,
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
    output_dir="./output/hardshapes/enet_bs8_600it",
)
train.checkpointer.period = 200
lr_multiplier.warmup_length = 50 / 600  # SOLVER.WARMUP_ITERS / MAX_ITER
