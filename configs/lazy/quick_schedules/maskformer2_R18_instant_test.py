# Twin of configs/quick_schedules/maskformer2_R18_instant_test.yaml: a 20-iteration smoke test.
from ..hardshapes.maskformer2_R18_bs8_600it import (  # noqa: F401
    dataloader,
    lr_multiplier,
    model,
    optimizer,
    train,
)

model.backbone.update(stem_out_channels=8, res2_out_channels=8)
model.sem_seg_head.pixel_decoder.update(
    input_shape={
        "res2": dict(channels=8, stride=4),
        "res3": dict(channels=16, stride=8),
        "res4": dict(channels=32, stride=16),
        "res5": dict(channels=64, stride=32),
    },
    conv_dim=32,
    mask_dim=32,
    encoder_layers=1,
    encoder_heads=2,
    encoder_points=2,
    encoder_dim_feedforward=64,
)
model.sem_seg_head.predictor.update(
    hidden_dim=32, num_queries=10, nheads=2, dim_feedforward=64, dec_layers=3
)
model.criterion.num_points = 256
dataloader.train.mapper.augmentations[0].short_edge_length = (64,)
dataloader.train.mapper.augmentations[1].crop_size = (64, 64)
dataloader.test.mapper.augmentations[0].short_edge_length = 64
dataloader.train.update(total_batch_size=2, num_workers=0)
dataloader.test.num_workers = 0
train.update(max_iter=20, output_dir="./output/quick_schedules/maskformer2_R18_instant_test")
train.checkpointer.period = 10
lr_multiplier.warmup_length = 5 / 20
