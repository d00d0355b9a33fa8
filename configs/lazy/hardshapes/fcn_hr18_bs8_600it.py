# Twin of configs/hardshapes/fcn_hr18_bs8_600it.yaml.
from ..common.hardshapes_600it import dataloader, lr_multiplier, optimizer, train
from ..common.models.hrnet import fcn_head, model

model.backbone.update(width=18, norm="BN")
model.sem_seg_head = fcn_head(width=18, num_classes=7, norm="BN", loss_type="cross_entropy")
train.output_dir = "./output/hardshapes/fcn_hr18_bs8_600it"
