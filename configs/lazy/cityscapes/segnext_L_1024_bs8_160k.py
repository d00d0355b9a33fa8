# Twin of configs/cityscapes/semantic-segmentation/segnext_L_1024_bs8_160k.yaml.
from detectron2.config import LazyCall as L

from hardseg.modeling.inference import InferenceConfig

from ..common.data.cityscapes import dataloader
from ..common.models.segnext import segnext
from ..common.optim_segformer import AdamW as optimizer  # noqa: F401
from ..common.schedule import poly_lr_multiplier as lr_multiplier
from ..common.train import train

model = segnext("l", num_classes=19)
model.inference = L(InferenceConfig)(mode="slide", crop_size=(1024, 1024), stride=(768, 768))
dataloader.train.mapper.augmentations[1].crop_size = (1024, 1024)
dataloader.train.total_batch_size = 8
train.update(
    max_iter=160000, eval_period=16000, output_dir="./output/cityscapes/segnext_L_1024_bs8_160k"
)
train.checkpointer.period = 16000
lr_multiplier.update(power=1.0, warmup_length=1500 / 160000, warmup_factor=1e-6)
