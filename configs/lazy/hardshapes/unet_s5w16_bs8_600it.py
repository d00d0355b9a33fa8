# Twin of configs/hardshapes/unet_s5w16_bs8_600it.yaml.
from detectron2.config import LazyCall as L

from hardseg.modeling import HardSegmentor
from hardseg.modeling.backbone import UNetEncoder
from hardseg.modeling.heads import UNetHead
from hardseg.modeling.inference import InferenceConfig

from ..common.data.hardshapes import dataloader
from ..common.optim import SGD as optimizer
from ..common.schedule import poly_lr_multiplier as lr_multiplier
from ..common.train import train

model = L(HardSegmentor)(
    backbone=L(UNetEncoder)(base_channels=16, bilinear=False, norm="BN"),
    sem_seg_head=L(UNetHead)(
        input_shape={
            "enc1": dict(channels=16, stride=1),
            "enc2": dict(channels=32, stride=2),
            "enc3": dict(channels=64, stride=4),
            "enc4": dict(channels=128, stride=8),
            "enc5": dict(channels=256, stride=16),
        },
        num_classes=7,
        in_features=["enc1", "enc2", "enc3", "enc4", "enc5"],
        bilinear=False,
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
    output_dir="./output/hardshapes/unet_s5w16_bs8_600it",
)
train.checkpointer.period = 200
lr_multiplier.warmup_length = 50 / 600  # SOLVER.WARMUP_ITERS / MAX_ITER
