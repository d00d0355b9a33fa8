# The HardShapes schedule every hardshapes/*_bs8_600it config shares (the YAML twins' SOLVER):
# SGD lr 0.02, 600 iterations with a 50-iteration warm-up, poly decay, checkpoint every 200, on
# the CPU, no periodic evaluation. A leaf imports these four objects, its model, and sets
# train.output_dir.
from .data.hardshapes import dataloader
from .optim import SGD as optimizer
from .schedule import poly_lr_multiplier as lr_multiplier
from .train import train

optimizer.lr = 0.02
train.update(max_iter=600, eval_period=0, device="cpu", seed=0)
train.checkpointer.period = 200
lr_multiplier.warmup_length = 50 / 600  # SOLVER.WARMUP_ITERS / MAX_ITER
