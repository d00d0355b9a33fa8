# Twin of configs/uda/cityscapes_robotcar/hiast_round_deeplabv2_R101_cityscapes_robotcar.yaml (docs/methods/hiast.md §3).
from ..common.uda import hiast_config

model, dataloader, optimizer, lr_multiplier, train = hiast_config("cityscapes_robotcar", "round")
