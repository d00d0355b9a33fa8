# Twin of configs/hardshapes/deeplabv3_R18_os8_bs8_600it.yaml: the common deeplabv3 model at HardShapes width.
from ..common.data.hardshapes import dataloader
from ..common.models.deeplabv3 import model
from ..common.optim import SGD as optimizer
from ..common.schedule import poly_lr_multiplier as lr_multiplier
from ..common.train import train

model.backbone.update(
    depth=18,
    norm="BN",
    stem_out_channels=32,
    res2_out_channels=32,
    res5_multi_grid=[1, 1],
)
model.sem_seg_head.update(
    input_shape={"res4": dict(channels=128, stride=8), "res5": dict(channels=256, stride=8)},
    num_classes=7,
    channels=64,
    dilations=[6, 12, 18],
    norm="BN",
)
model.aux_head.update(
    input_shape={"res4": dict(channels=128, stride=8)}, num_classes=7, channels=32, norm="BN"
)
optimizer.lr = 0.02
train.update(
    max_iter=600,
    eval_period=0,
    device="cpu",
    seed=0,
    output_dir="./output/hardshapes/deeplabv3_R18_os8_bs8_600it",
)
train.checkpointer.period = 200
lr_multiplier.warmup_length = 50 / 600  # SOLVER.WARMUP_ITERS / MAX_ITER
