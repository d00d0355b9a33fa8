# Twin of configs/cityscapes/semantic-segmentation/sfnet_R18_512x1024_bs16_90k.yaml.
from ..common.data.cityscapes import dataloader  # noqa: F401
from ..common.models.sfnet import sfnet
from ..common.optim import SGD as optimizer
from ..common.schedule import poly_lr_multiplier as lr_multiplier  # noqa: F401
from ..common.train import train

model = sfnet(depth=18, num_classes=19)
optimizer.weight_decay = 5e-4
train.update(max_iter=90000, output_dir="./output/cityscapes/sfnet_R18_512x1024_bs16_90k")
