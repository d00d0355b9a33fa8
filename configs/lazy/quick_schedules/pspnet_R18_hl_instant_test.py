# Twin of configs/quick_schedules/pspnet_R18_hl_instant_test.yaml: PSPNet + FCN aux + HL, tiny.
from ..common.models.hardness import add_hardness
from ..hardshapes.pspnet_R18_os8_bs8_600it import (  # noqa: F401
    dataloader,
    lr_multiplier,
    model,
    optimizer,
    train,
)

model.backbone.update(stem_out_channels=8, res2_out_channels=8)
model.sem_seg_head.update(
    input_shape={"res4": dict(channels=32, stride=8), "res5": dict(channels=64, stride=8)},
    channels=16,
)
model.aux_head.update(input_shape={"res4": dict(channels=32, stride=8)}, channels=8)
dataloader.train.mapper.augmentations[0].short_edge_length = (64,)
dataloader.train.mapper.augmentations[1].crop_size = (64, 64)
dataloader.test.mapper.augmentations[0].short_edge_length = 64
dataloader.train.update(total_batch_size=2, num_workers=0)
dataloader.test.num_workers = 0
train.update(max_iter=20, output_dir="./output/quick_schedules/pspnet_R18_hl_instant_test")
train.checkpointer.period = 10
lr_multiplier.warmup_length = 5 / 20
model = add_hardness(model, vis_period=10)
