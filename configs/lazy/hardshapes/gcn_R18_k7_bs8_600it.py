# Twin of configs/hardshapes/gcn_R18_k7_bs8_600it.yaml: the common gcn model at HardShapes width.
from ..common.data.hardshapes import dataloader
from ..common.models.gcn import model
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
    input_shape={
        "res2": dict(channels=32, stride=4),
        "res3": dict(channels=64, stride=8),
        "res4": dict(channels=128, stride=16),
        "res5": dict(channels=256, stride=32),
    },
    num_classes=7,
    channels=7,
    kernel_size=7,
)
optimizer.lr = 0.02
train.update(
    max_iter=600,
    eval_period=0,
    device="cpu",
    seed=0,
    output_dir="./output/hardshapes/gcn_R18_k7_bs8_600it",
)
train.checkpointer.period = 200
lr_multiplier.warmup_length = 50 / 600  # SOLVER.WARMUP_ITERS / MAX_ITER
