# Twin of configs/hardshapes/maskformer2_R18_bs8_600it.yaml.
from detectron2.config import LazyCall as L

from hardseg.modeling.backbone import make_resnet_dilated

from ..common.data.hardshapes import dataloader
from ..common.data.mask_former_semantic import use_mask_former_mapper
from ..common.models.mask2former import model
from ..common.optim_adamw import AdamW as optimizer
from ..common.schedule import poly_lr_multiplier as lr_multiplier
from ..common.train import train

use_mask_former_mapper(dataloader, size_divisibility=32)
model.backbone = L(make_resnet_dilated)(
    depth=18,
    norm="BN",
    stem_type="basic",
    stem_out_channels=32,
    res2_out_channels=32,
    res4_dilation=1,
    res5_dilation=1,
    res5_multi_grid=[1, 1],
    out_features=["res2", "res3", "res4", "res5"],
    freeze_at=0,
)
model.sem_seg_head.pixel_decoder.update(
    input_shape={
        "res2": dict(channels=32, stride=4),
        "res3": dict(channels=64, stride=8),
        "res4": dict(channels=128, stride=16),
        "res5": dict(channels=256, stride=32),
    },
    conv_dim=64,
    mask_dim=64,
    encoder_layers=2,
    encoder_heads=4,
    encoder_dim_feedforward=256,
)
model.sem_seg_head.predictor.update(
    hidden_dim=64, num_queries=20, nheads=4, dim_feedforward=256, dec_layers=4
)
model.sem_seg_head.num_classes = 7
model.criterion.num_points = 1024  # the 32x32 mask logits of a 128x128 crop
optimizer.update(lr=0.0005)
optimizer.params.backbone_multiplier = 1.0  # from scratch
train.update(
    max_iter=600,
    eval_period=0,
    device="cpu",
    seed=0,
    output_dir="./output/hardshapes/maskformer2_R18_bs8_600it",
)
train.checkpointer.period = 200
lr_multiplier.warmup_length = 50 / 600  # SOLVER.WARMUP_ITERS / MAX_ITER
