# Twin of configs/ade20k/semantic-segmentation/maskformer2_R50_hl_bs16_160k.yaml.
from ..common.data.ade20k import dataloader
from ..common.data.mask_former_semantic import use_mask_former_mapper
from ..common.models.mask2former_hl import model
from ..common.optim_adamw import AdamW as optimizer
from ..common.schedule import poly_lr_multiplier as lr_multiplier
from ..common.train import train

# official recipe: SSD colour augmentation, labels resized by torch (docs/methods/mask2former.md §6)
use_mask_former_mapper(dataloader, size_divisibility=512, color_aug_ssd=True, label_resize="torch")
train.amp.enabled = True  # official SOLVER.AMP (docs/methods/mask2former.md §6)
train.amp.dtype = "float16"  # as the official recipe; "bfloat16" on a CPU
# FrozenBN: detectron2's default NORM, which Mask2Former's ADE20K config keeps
model.backbone.stem.norm = "FrozenBN"
model.backbone.stages.norm = "FrozenBN"
model.sem_seg_head.num_classes = 150
train.max_iter = 160000
train.output_dir = "./output/ade20k/maskformer2_R50_hl_bs16_160k"
lr_multiplier.update(warmup_length=0.0, warmup_factor=1.0)
