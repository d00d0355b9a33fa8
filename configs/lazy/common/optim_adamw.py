# AdamW with a backbone LR multiplier and full-model gradient clipping: the LazyConfig twin of
# SOLVER.OPTIMIZER "ADAMW" + BACKBONE_MULTIPLIER + CLIP_GRADIENTS.CLIP_TYPE "full_model"
# (Mask2Former's solver: lr 1e-4, weight decay 0.05, backbone x0.1, clip 0.01).
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
    lr=1e-4,
    weight_decay=0.05,
    full_model_clip_value=0.01,
    norm_type=2.0,
)
