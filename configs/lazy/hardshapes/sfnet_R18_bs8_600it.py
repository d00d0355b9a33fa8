# Twin of configs/hardshapes/sfnet_R18_bs8_600it.yaml.
from ..common.hardshapes_600it import dataloader, lr_multiplier, optimizer, train  # noqa: F401
from ..common.models.sfnet import sfnet

model = sfnet(depth=18, num_classes=7, fpn_dim=32, stem=32, res2=32, norm="BN")
train.output_dir = "./output/hardshapes/sfnet_R18_bs8_600it"
