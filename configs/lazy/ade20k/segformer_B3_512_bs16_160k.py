# Twin of configs/ade20k/semantic-segmentation/segformer_B3_512_bs16_160k.yaml.
from ..common.data.ade20k import dataloader  # noqa: F401
from ..common.models.segformer import segformer
from ..common.optim_segformer import AdamW as optimizer  # noqa: F401
from ..common.schedule import poly_lr_multiplier as lr_multiplier
from ..common.train import train

model = segformer("b3", num_classes=150)
train.update(max_iter=160000, output_dir="./output/ade20k/segformer_B3_512_bs16_160k")
lr_multiplier.update(power=1.0, warmup_length=1500 / 160000, warmup_factor=1e-6)
