# Twin of configs/hardshapes/stdc1_tiny_bs8_600it.yaml.
from ..common.data.hardshapes import dataloader  # noqa: F401
from ..common.models.stdc import stdc
from ..common.optim import SGD as optimizer
from ..common.schedule import poly_lr_multiplier as lr_multiplier
from ..common.train import train

model = stdc("stdc1", num_classes=7, base=16, context=16, fuse=32, aux=8, norm="BN")
optimizer.lr = 0.02
train.update(
    max_iter=600,
    eval_period=0,
    device="cpu",
    seed=0,
    output_dir="./output/hardshapes/stdc1_tiny_bs8_600it",
)
train.checkpointer.period = 200
lr_multiplier.warmup_length = 50 / 600  # SOLVER.WARMUP_ITERS / MAX_ITER
