# Twin of configs/hardshapes/duc_hdc_R18_os8_bs8_600it.yaml: the common duc_hdc model at HardShapes width.
from ..common.data.hardshapes import dataloader
from ..common.models.duc_hdc import model
from ..common.optim import SGD as optimizer
from ..common.schedule import poly_lr_multiplier as lr_multiplier
from ..common.train import train

model.backbone.update(
    res4_dilations=[1, 2],
    res5_dilations=[2, 5],
    depth=18,
    norm="BN",
    stem_out_channels=32,
    res2_out_channels=32,
)
model.sem_seg_head.update(
    input_shape={"res5": dict(channels=256, stride=8)}, num_classes=7, channels=64, norm="BN"
)
optimizer.lr = 0.02
train.update(
    max_iter=600,
    eval_period=0,
    device="cpu",
    seed=0,
    output_dir="./output/hardshapes/duc_hdc_R18_os8_bs8_600it",
)
train.checkpointer.period = 200
lr_multiplier.warmup_length = 50 / 600  # SOLVER.WARMUP_ITERS / MAX_ITER
