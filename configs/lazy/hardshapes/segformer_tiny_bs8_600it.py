# Twin of configs/hardshapes/segformer_tiny_bs8_600it.yaml.
from ..common.hardshapes_600it import dataloader, lr_multiplier, train  # noqa: F401
from ..common.models.segformer import segformer
from ..common.optim_segformer import AdamW as optimizer

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
train.output_dir = "./output/hardshapes/segformer_tiny_bs8_600it"
