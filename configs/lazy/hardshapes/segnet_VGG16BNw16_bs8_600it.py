# Twin of configs/hardshapes/segnet_VGG16BNw16_bs8_600it.yaml: the common segnet model at HardShapes width.
from ..common.data.hardshapes import dataloader
from ..common.models.segnet import model
from ..common.optim import SGD as optimizer
from ..common.schedule import poly_lr_multiplier as lr_multiplier
from ..common.train import train

model.sem_seg_head.update(num_classes=7, base_channels=16, norm="BN")
optimizer.lr = 0.02
train.update(
    max_iter=600,
    eval_period=0,
    device="cpu",
    seed=0,
    output_dir="./output/hardshapes/segnet_VGG16BNw16_bs8_600it",
)
train.checkpointer.period = 200
lr_multiplier.warmup_length = 50 / 600  # SOLVER.WARMUP_ITERS / MAX_ITER
