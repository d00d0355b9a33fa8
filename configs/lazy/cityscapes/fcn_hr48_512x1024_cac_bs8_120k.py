# Twin of configs/cityscapes/semantic-segmentation/fcn_hr48_512x1024_cac_bs8_120k.yaml.
from ..common.models.cac import add_cac
from .fcn_hr48_512x1024_bs8_120k import dataloader, lr_multiplier, model, optimizer, train  # noqa

train.output_dir = "./output/cityscapes/fcn_hr48_512x1024_cac_bs8_120k"
model = add_cac(model, num_classes=19, loss_weight=0.4, weight_loss_weight=1.5, warmup_iters=5000)
