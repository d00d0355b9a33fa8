# Twin of configs/hardshapes/sfnet_R18_bs8_600it.yaml.
from ..common.data.hardshapes import dataloader  # noqa: F401
from ..common.models.sfnet import sfnet
from ..common.optim import SGD as optimizer
from ..common.schedule import poly_lr_multiplier as lr_multiplier
from ..common.train import train

model = sfnet(depth=18, num_classes=7, fpn_dim=32, stem=32, res2=32, norm="BN")
optimizer.lr = 0.02
train.update(
    max_iter=600,
    eval_period=0,
    device="cpu",
    seed=0,
    output_dir="./output/hardshapes/sfnet_R18_bs8_600it",
)
train.checkpointer.period = 200
lr_multiplier.warmup_length = 50 / 600  # SOLVER.WARMUP_ITERS / MAX_ITER
