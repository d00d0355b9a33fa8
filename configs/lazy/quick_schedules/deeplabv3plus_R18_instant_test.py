# Twin of configs/quick_schedules/deeplabv3plus_R18_instant_test.yaml: a 20-iteration smoke test.
from ..hardshapes.deeplabv3plus_R18_os8_bs8_600it import (  # noqa: F401
    dataloader,
    lr_multiplier,
    model,
    optimizer,
    train,
)

model.backbone.update(stem_out_channels=8, res2_out_channels=8)
model.sem_seg_head.update(
    input_shape={"res2": dict(channels=8, stride=4), "res5": dict(channels=64, stride=8)},
    project_channels=[8],
    decoder_channels=[16, 16],
)
dataloader.train.mapper.augmentations[0].short_edge_length = (64,)
dataloader.train.mapper.augmentations[1].crop_size = (64, 64)
dataloader.test.mapper.augmentations[0].short_edge_length = 64
dataloader.train.update(total_batch_size=2, num_workers=0)
dataloader.test.num_workers = 0
train.update(max_iter=20, output_dir="./output/quick_schedules/deeplabv3plus_R18_instant_test")
train.checkpointer.period = 10
lr_multiplier.warmup_length = 5 / 20
