# Twin of configs/hardshapes/fcn8s_VGG16w16_bs8_600it.yaml: the common fcn8s model at HardShapes width.
from ..common.data.hardshapes import dataloader
from ..common.models.fcn8s import model
from ..common.optim import SGD as optimizer
from ..common.schedule import poly_lr_multiplier as lr_multiplier
from ..common.train import train

model.backbone.update(base_channels=16, fc_channels=256)
model.sem_seg_head.update(
    input_shape={
        "res3": dict(channels=64, stride=8),
        "res4": dict(channels=128, stride=16),
        "fc7": dict(channels=256, stride=32),
    },
    num_classes=7,
)
optimizer.lr = 0.02
train.update(
    max_iter=600,
    eval_period=0,
    device="cpu",
    seed=0,
    output_dir="./output/hardshapes/fcn8s_VGG16w16_bs8_600it",
)
train.checkpointer.period = 200
lr_multiplier.warmup_length = 50 / 600  # SOLVER.WARMUP_ITERS / MAX_ITER
