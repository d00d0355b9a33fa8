# SegFormer's AdamW (NVlabs/SegFormer local_configs/_base_/schedules + the model configs'
# paramwise_cfg): lr 6e-5, weight decay 0.01, head LR x10, no decay on norms, no clipping. Written
# as base lr 6e-4 with the backbone at x0.1, which gives the same per-parameter lr and decay.
# Same param groups as optim_adamw.AdamW; only the solver numbers differ.
from .optim_adamw import AdamW

AdamW.update(lr=6e-4, weight_decay=0.01, full_model_clip_value=0.0)
del AdamW.norm_type  # no clipping, so no clip norm
