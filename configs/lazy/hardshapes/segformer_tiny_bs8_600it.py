# Twin of configs/hardshapes/segformer_tiny_bs8_600it.yaml.
from ..common.data.hardshapes import dataloader  # noqa: F401
from ..common.models.segformer import segformer
from ..common.optim_segformer import AdamW as optimizer
from ..common.schedule import poly_lr_multiplier as lr_multiplier
from ..common.train import train

model = segformer(
    "b0",
    num_classes=7,
    embed_dim=64,
    embed_dims=(16, 32, 48, 64),
    num_heads=(1, 2, 3, 4),
    depths=(1, 1, 1, 1),
)
model.sem_seg_head.norm = "BN"
optimizer.lr = 0.002
train.update(
    max_iter=600,
    eval_period=0,
    device="cpu",
    seed=0,
    output_dir="./output/hardshapes/segformer_tiny_bs8_600it",
)
train.checkpointer.period = 200
lr_multiplier.warmup_length = 50 / 600  # SOLVER.WARMUP_ITERS / MAX_ITER
