"""Keys of the efficient and transformer backbones (docs/models_efficient.md)."""

from detectron2.config import CfgNode as CN


def add_mit_config(cfg):
    """Add ``MODEL.MIT.*``: SegFormer's Mix Transformer encoder (``build_mit_backbone``)."""
    cfg.MODEL.MIT = CN()
    # Published size "b0".."b5" (embed dims, heads and depths of the official mit_b0..mit_b5).
    cfg.MODEL.MIT.VARIANT = "b0"
    # Per-stage overrides of the variant (4 values each; empty: the variant's). Tests and the
    # hardshapes configs use them for tiny widths.
    cfg.MODEL.MIT.EMBED_DIMS = []
    cfg.MODEL.MIT.NUM_HEADS = []
    cfg.MODEL.MIT.DEPTHS = []
    # Spatial-reduction ratio of keys/values per stage, and Mix-FFN hidden width / embed dim.
    cfg.MODEL.MIT.SR_RATIOS = [8, 4, 2, 1]
    cfg.MODEL.MIT.MLP_RATIO = 4.0
    # Stochastic depth of the last block (linear from 0 over all blocks); official: 0.1.
    cfg.MODEL.MIT.DROP_PATH_RATE = 0.1
    cfg.MODEL.MIT.OUT_FEATURES = ["res2", "res3", "res4", "res5"]


def add_efficient_config(cfg):
    """Add the keys of every efficient backbone."""
    add_mit_config(cfg)
