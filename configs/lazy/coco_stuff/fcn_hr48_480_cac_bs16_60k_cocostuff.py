# Twin of configs/coco_stuff/semantic-segmentation/fcn_hr48_480_cac_bs16_60k_cocostuff.yaml.
from ..common.models.cac import add_cac
from .fcn_hr48_480_bs16_60k_cocostuff import (
    dataloader,
    lr_multiplier,
    model,
    optimizer,
    train,
)  # noqa

train.output_dir = "./output/coco_stuff/fcn_hr48_480_cac_bs16_60k_cocostuff"
model = add_cac(model, num_classes=171, loss_weight=3.5, weight_loss_weight=3.0)
