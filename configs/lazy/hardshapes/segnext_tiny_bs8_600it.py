# Twin of configs/hardshapes/segnext_tiny_bs8_600it.yaml.
from ..common.hardshapes_600it import dataloader, lr_multiplier, train  # noqa: F401
from ..common.models.segnext import segnext
from ..common.optim_segformer import AdamW as optimizer

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
train.output_dir = "./output/hardshapes/segnext_tiny_bs8_600it"
