# Twin of configs/hardshapes/topformer_T_bs8_600it.yaml.
from ..common.hardshapes_600it import dataloader, lr_multiplier, train  # noqa: F401
from ..common.models.topformer import topformer
from ..common.optim_segformer import AdamW as optimizer

model = topformer("t", num_classes=7, out_channels=32, norm="BN")
optimizer.lr = 3e-3
train.output_dir = "./output/hardshapes/topformer_T_bs8_600it"
