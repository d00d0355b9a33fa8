# Twin of configs/hardshapes/stdc1_tiny_bs8_600it.yaml.
from ..common.hardshapes_600it import dataloader, lr_multiplier, optimizer, train  # noqa: F401
from ..common.models.stdc import stdc

model = stdc("stdc1", num_classes=7, base=16, context=16, fuse=32, aux=8, norm="BN")
train.output_dir = "./output/hardshapes/stdc1_tiny_bs8_600it"
