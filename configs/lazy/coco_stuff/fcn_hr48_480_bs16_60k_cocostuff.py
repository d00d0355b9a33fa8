# Twin of configs/coco_stuff/semantic-segmentation/fcn_hr48_480_bs16_60k_cocostuff.yaml.
from ..common.data.coco_stuff import dataloader
from ..common.data.mmseg_pipeline import use_mmseg_crop_and_photometric
from ..common.fcn_hr48_480_60k import lr_multiplier, model, optimizer, train
from ..common.models.hrnet import fcn_head, mmseg_ohem_ce

model.sem_seg_head = fcn_head(num_classes=171, loss_type=mmseg_ohem_ce(class_weights=None))
train.output_dir = "./output/coco_stuff/fcn_hr48_480_bs16_60k_cocostuff"
# the official dataset config's RandomCrop(cat_max_ratio=0.75) and PhotoMetricDistortion
use_mmseg_crop_and_photometric(dataloader, cat_max_ratio=0.75)
