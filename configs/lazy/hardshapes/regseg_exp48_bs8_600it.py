# Twin of configs/hardshapes/regseg_exp48_bs8_600it.yaml.
from ..common.data.hardshapes import dataloader  # noqa: F401
from ..common.models.regseg import regseg
from ..common.optim import SGD as optimizer
from ..common.schedule import poly_lr_multiplier as lr_multiplier
from ..common.train import train

model = regseg(num_classes=7, norm="BN")
optimizer.lr = 0.02
train.update(
    max_iter=600,
    eval_period=0,
    device="cpu",
    seed=0,
    output_dir="./output/hardshapes/regseg_exp48_bs8_600it",
)
train.checkpointer.period = 200
lr_multiplier.warmup_length = 50 / 600  # SOLVER.WARMUP_ITERS / MAX_ITER
