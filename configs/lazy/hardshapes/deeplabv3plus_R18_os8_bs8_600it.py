# Twin of configs/hardshapes/deeplabv3plus_R18_os8_bs8_600it.yaml (the demo model).
from ..common.data.hardshapes import dataloader
from ..common.models.deeplabv3plus import model
from ..common.optim import SGD as optimizer
from ..common.schedule import poly_lr_multiplier as lr_multiplier
from ..common.train import train

model.backbone.update(
    depth=18,
    norm="BN",
    stem_type="basic",
    stem_out_channels=32,
    res2_out_channels=32,
    res4_dilation=2,
    res5_dilation=4,
    res5_multi_grid=[1, 2],
)
model.sem_seg_head.update(
    input_shape={"res2": dict(channels=32, stride=4), "res5": dict(channels=256, stride=8)},
    project_channels=[32],
    aspp_dilations=[2, 4, 6],
    aspp_pooling="global",
    train_size=None,
    decoder_channels=[128, 128],
    norm="BN",
    loss_type="cross_entropy",
    num_classes=7,
)
optimizer.lr = 0.02
train.update(
    max_iter=600,
    eval_period=0,
    device="cpu",
    seed=0,
    output_dir="./output/hardshapes/deeplabv3plus_R18_os8_bs8_600it",
)
train.checkpointer.period = 200
lr_multiplier.warmup_length = 50 / 600  # SOLVER.WARMUP_ITERS / MAX_ITER
