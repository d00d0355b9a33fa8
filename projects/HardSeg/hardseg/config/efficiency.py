"""Speed and memory switches (hardseg/modeling/efficiency.py)."""


def add_efficiency_config(cfg):
    """Add ``MODEL.CHANNELS_LAST`` and ``MODEL.BACKBONE_ACTIVATION_CHECKPOINT``."""
    # Parameters and activations in channels_last (NHWC) memory format: faster convolutions on
    # GPUs with tensor cores, especially with SOLVER.AMP (bf16/fp16).
    cfg.MODEL.CHANNELS_LAST = False
    # Recompute each ResNet backbone stage in backward instead of storing its activations (for
    # large crops: less memory, about one more backbone forward per step).
    cfg.MODEL.BACKBONE_ACTIVATION_CHECKPOINT = False
