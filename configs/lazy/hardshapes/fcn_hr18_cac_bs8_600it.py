# Twin of configs/hardshapes/fcn_hr18_cac_bs8_600it.yaml.
from ..common.models.cac import add_cac
from .fcn_hr18_bs8_600it import dataloader, lr_multiplier, model, optimizer, train  # noqa

train.output_dir = "./output/hardshapes/fcn_hr18_cac_bs8_600it"
model = add_cac(model, num_classes=7, norm="BN", threshold=20)
