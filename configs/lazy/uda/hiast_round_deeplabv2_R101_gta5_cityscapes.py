# Twin of configs/uda/gta5_cityscapes/hiast_round_deeplabv2_R101_gta5_cityscapes.yaml (docs/methods/hiast.md §3).
from ..common.uda import hiast_config

model, dataloader, optimizer, lr_multiplier, train = hiast_config("gta5_cityscapes", "round")
