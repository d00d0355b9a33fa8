# Twin of configs/cityscapes/semantic-segmentation/deeplabv3plus_R103_os16_mg124_bs16_90k.yaml.
from ..common.data.cityscapes import dataloader
from ..common.models.deeplabv3plus import model
from ..common.optim import SGD as optimizer
from ..common.schedule import poly_lr_multiplier as lr_multiplier
from ..common.train import train

optimizer.lr = 0.01
train.max_iter = 90000
train.output_dir = "./output/cityscapes/deeplabv3plus_R103_os16_mg124_bs16_90k"
lr_multiplier.warmup_length = 0.0  # SOLVER.WARMUP_ITERS = 0 in the YAML twin
