# Twin of configs/cityscapes/semantic-segmentation/ocr_hr48_512x1024_bs8_120k.yaml.
from ..common.models.hrnet import ocr_head
from .fcn_hr48_512x1024_bs8_120k import dataloader, lr_multiplier, model, optimizer, train  # noqa

train.output_dir = "./output/cityscapes/ocr_hr48_512x1024_bs8_120k"
model.sem_seg_head = ocr_head()
