# Twin of configs/uda/synthia_cityscapes/hiast_warmup_deeplabv2_R101_synthia_cityscapes.yaml (docs/methods/hiast.md §3).
from ..common.uda import hiast_config

model, dataloader, optimizer, lr_multiplier, train = hiast_config("synthia_cityscapes", "warmup")
