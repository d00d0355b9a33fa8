# Twin of configs/cityscapes/semantic-segmentation/maskformer2_R50_bs16_90k.yaml.
from ..common.data.cityscapes import dataloader
from ..common.data.mask_former_semantic import use_mask_former_mapper
from ..common.models.mask2former import model
from ..common.optim_adamw import AdamW as optimizer
from ..common.schedule import poly_lr_multiplier as lr_multiplier
from ..common.train import train

# official recipe: SSD colour augmentation, labels resized by torch (docs/methods/mask2former.md §6)
use_mask_former_mapper(dataloader, size_divisibility=-1, color_aug_ssd=True, label_resize="torch")
train.amp.enabled = True  # official SOLVER.AMP (docs/methods/mask2former.md §6)
train.amp.dtype = "float16"  # as the official recipe; "bfloat16" on a CPU
# int(x * 0.1 * 1024) for x in 5..20
dataloader.train.mapper.augmentations[0].short_edge_length = [
    int(x * 0.1 * 1024) for x in range(5, 21)
]
train.max_iter = 90000
train.output_dir = "./output/cityscapes/maskformer2_R50_bs16_90k"
lr_multiplier.update(warmup_length=0.0, warmup_factor=1.0)
