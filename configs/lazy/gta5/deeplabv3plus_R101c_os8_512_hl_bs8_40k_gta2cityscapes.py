# Twin of configs/gta5/deeplabv3plus_R101c_os8_512_hl_bs8_40k_gta2cityscapes.yaml: the official
# gta_hl run (docs/methods/hl.md §5.2, §8.7), DeepLabV3+ R101-V1c + HL trained on GTA5 only.
from ..cityscapes.deeplabv3plus_R101c_os8_769_bs8_40k import (  # noqa: F401
    dataloader,
    lr_multiplier,
    model,
    train,
)
from ..common.models.hardness import add_hardness
from ..common.optim_adamw import AdamW as optimizer

model.sem_seg_head.align_corners = False
model.aux_head.align_corners = False
model.pad_to_size = (512, 512)
model.inference.mode = "whole"
model = add_hardness(model, eps=0.1, loss_weight=0.01)

dataloader.train.dataset.names = "gta5_sem_seg_train"
dataloader.train.mapper.augmentations[0].update(
    short_edge_length=(720,), max_size=1280, sample_style="choice"
)
dataloader.train.mapper.augmentations[1].crop_size = (512, 512)
dataloader.test.dataset.names = "cityscapes_fine_sem_seg_val"
dataloader.test.mapper.augmentations[0].update(short_edge_length=512, max_size=1024)

optimizer.lr = 6e-5
optimizer.weight_decay = 0.01
optimizer.params.weight_decay_norm = 0.01
optimizer.params.backbone_multiplier = 1.0
optimizer.full_model_clip_value = 0.0
lr_multiplier.update(power=1.0, warmup_length=1500 / 40000, warmup_factor=1e-6)
train.output_dir = "./output/gta5/deeplabv3plus_R101c_os8_512_hl_bs8_40k_gta2cityscapes"
