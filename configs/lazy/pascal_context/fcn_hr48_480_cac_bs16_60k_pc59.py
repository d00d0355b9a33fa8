# Twin of configs/pascal_context/semantic-segmentation/fcn_hr48_480_cac_bs16_60k_pc59.yaml.
from ..common.models.cac import add_cac
from .fcn_hr48_480_bs16_60k_pc59 import dataloader, lr_multiplier, model, optimizer, train  # noqa

train.output_dir = "./output/pascal_context/fcn_hr48_480_cac_bs16_60k_pc59"
model = add_cac(model, num_classes=59, loss_weight=1.0, weight_loss_weight=1.5)
