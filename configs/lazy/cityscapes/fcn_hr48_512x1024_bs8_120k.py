# Twin of configs/cityscapes/semantic-segmentation/fcn_hr48_512x1024_bs8_120k.yaml.
from .fcn_hr48_512x1024_bs8_40k import dataloader, lr_multiplier, model, optimizer, train  # noqa

train.update(
    max_iter=120000,
    eval_period=8000,
    output_dir="./output/cityscapes/fcn_hr48_512x1024_bs8_120k",
)
train.checkpointer.period = 8000
