# Twin of configs/hardshapes/segnext_tiny_bs8_600it.yaml.
from ..common.data.hardshapes import dataloader  # noqa: F401
from ..common.models.segnext import segnext
from ..common.optim_segformer import AdamW as optimizer
from ..common.schedule import poly_lr_multiplier as lr_multiplier
from ..common.train import train

model = segnext(
    "t",
    num_classes=7,
    head=(32, 32, 8),
    gn_groups=8,
    embed_dims=(16, 32, 48, 64),
    depths=(1, 1, 1, 1),
)
model.backbone.norm = "BN"
optimizer.lr = 0.002
train.update(
    max_iter=600,
    eval_period=0,
    device="cpu",
    seed=0,
    output_dir="./output/hardshapes/segnext_tiny_bs8_600it",
)
train.checkpointer.period = 200
lr_multiplier.warmup_length = 50 / 600  # SOLVER.WARMUP_ITERS / MAX_ITER
