# Twin of configs/hardshapes/regseg_exp48_bs8_600it.yaml.
from ..common.hardshapes_600it import dataloader, lr_multiplier, optimizer, train  # noqa: F401
from ..common.models.regseg import regseg

model = regseg(num_classes=7, norm="BN")
train.output_dir = "./output/hardshapes/regseg_exp48_bs8_600it"
