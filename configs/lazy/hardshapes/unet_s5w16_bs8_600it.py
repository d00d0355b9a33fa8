# Twin of configs/hardshapes/unet_s5w16_bs8_600it.yaml: the common unet model at HardShapes width.
from ..common.data.hardshapes import dataloader
from ..common.models.unet import model
from ..common.optim import SGD as optimizer
from ..common.schedule import poly_lr_multiplier as lr_multiplier
from ..common.train import train

model.backbone.update(base_channels=16, norm="BN")
model.sem_seg_head.update(
    input_shape={
        "enc1": dict(channels=16, stride=1),
        "enc2": dict(channels=32, stride=2),
        "enc3": dict(channels=64, stride=4),
        "enc4": dict(channels=128, stride=8),
        "enc5": dict(channels=256, stride=16),
    },
    num_classes=7,
    norm="BN",
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
