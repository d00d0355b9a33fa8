# Twin of configs/cityscapes/semantic-segmentation/topformer_T_512x1024_bs16_80k.yaml.
from ..common.data.cityscapes import dataloader
from ..common.models.topformer import topformer
from ..common.optim_segformer import AdamW as optimizer
from ..common.schedule import poly_lr_multiplier as lr_multiplier
from ..common.train import train

model = topformer("t", num_classes=19)
dataloader.train.mapper.augmentations[0].update(
    short_edge_length=(256, 384, 512, 640, 768, 896, 1024), max_size=2048
)
dataloader.test.mapper.augmentations[0].update(short_edge_length=512, max_size=1024)
optimizer.lr = 3e-3
train.update(
    max_iter=80000, eval_period=8000, output_dir="./output/cityscapes/topformer_T_512x1024_bs16_80k"
)
train.checkpointer.period = 8000
lr_multiplier.update(power=1.0, warmup_length=1500 / 80000, warmup_factor=1e-6)
