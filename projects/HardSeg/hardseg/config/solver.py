"""Optimizer keys: the optimizer type, a backbone LR multiplier, full-model gradient clipping
(Mask2Former's solver keys; see hardseg/solver/optimizer.py)."""


def add_solver_config(cfg):
    """Add ``SOLVER.OPTIMIZER``, ``SOLVER.BACKBONE_MULTIPLIER``, ``SOLVER.WEIGHT_DECAY_EMBED``."""
    # "SGD" (momentum SOLVER.MOMENTUM, nesterov SOLVER.NESTEROV) or "ADAMW". With "SGD", a
    # backbone multiplier of 1 and no "full_model" clipping, detectron2's build_optimizer is
    # used unchanged.
    cfg.SOLVER.OPTIMIZER = "SGD"
    # Mixed precision (SOLVER.AMP.ENABLED): "bfloat16" (no loss scaling) or "float16" (with a
    # GradScaler); autocast runs on the model's device type (hardseg/engine/amp.py).
    cfg.SOLVER.AMP.DTYPE = "bfloat16"
    # LR multiplier of the parameters under ``model.backbone`` (Mask2Former: 0.1 with AdamW).
    cfg.SOLVER.BACKBONE_MULTIPLIER = 1.0
    # Weight decay of nn.Embedding weights (queries, level embeddings); Mask2Former: 0.0.
    cfg.SOLVER.WEIGHT_DECAY_EMBED = 0.0
    # SOLVER.CLIP_GRADIENTS.CLIP_TYPE also accepts "full_model": clip the norm (NORM_TYPE) of all
    # gradients together to CLIP_VALUE, as Mask2Former does (detectron2 v0.6 has only per-
    # parameter "value"/"norm").
