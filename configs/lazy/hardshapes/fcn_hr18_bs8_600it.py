# Twin of configs/hardshapes/fcn_hr18_bs8_600it.yaml.
from ..common.data.hardshapes import dataloader
from ..common.models.hrnet import fcn_head, model
from ..common.optim import SGD as optimizer
from ..common.schedule import poly_lr_multiplier as lr_multiplier
from ..common.train import train

model.backbone.update(width=18, norm="BN")
model.sem_seg_head = fcn_head(width=18, num_classes=7, norm="BN", loss_type="cross_entropy")
optimizer.lr = 0.02
train.update(
    max_iter=600,
    eval_period=0,
    device="cpu",
    seed=0,
    output_dir="./output/hardshapes/fcn_hr18_bs8_600it",
)
train.checkpointer.period = 200
lr_multiplier.warmup_length = 50 / 600  # SOLVER.WARMUP_ITERS / MAX_ITER
