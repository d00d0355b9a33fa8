# SegFormer's AdamW (NVlabs/SegFormer local_configs/_base_/schedules + the model configs'
# paramwise_cfg): lr 6e-5, weight decay 0.01, head LR x10, no decay on norms, no clipping. Written
# as base lr 6e-4 with the backbone at x0.1, which gives the same per-parameter lr and decay.
from detectron2.config import LazyCall as L

from hardseg.solver import make_optimizer, param_groups

AdamW = L(make_optimizer)(
    params=L(param_groups)(  # .model set at run time
        base_lr="${..lr}",
        weight_decay="${..weight_decay}",
        weight_decay_norm=0.0,
        weight_decay_embed=0.0,
        backbone_multiplier=0.1,
    ),
    name="ADAMW",
    lr=6e-4,
    weight_decay=0.01,
    full_model_clip_value=0.0,
)
