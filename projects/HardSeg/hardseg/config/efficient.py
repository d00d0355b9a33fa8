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


def add_mscan_config(cfg):
    """Add ``MODEL.MSCAN.*`` (SegNeXt's encoder) and the LightHamHead keys."""
    cfg.MODEL.MSCAN = CN()
    # Published size "t", "s", "b", "l" (official SegNeXt configs).
    cfg.MODEL.MSCAN.VARIANT = "t"
    # Overrides of the variant's per-stage widths and depths (empty: the variant's).
    cfg.MODEL.MSCAN.EMBED_DIMS = []
    cfg.MODEL.MSCAN.DEPTHS = []
    cfg.MODEL.MSCAN.MLP_RATIOS = [8, 8, 4, 4]
    # Stochastic depth of the last block; -1: the variant's (0.1, L 0.3).
    cfg.MODEL.MSCAN.DROP_PATH_RATE = -1.0
    # Norm of the convolutional parts ("SyncBN" officially; falls back to BN on one CPU process).
    cfg.MODEL.MSCAN.NORM = "SyncBN"
    cfg.MODEL.MSCAN.OUT_FEATURES = ["res2", "res3", "res4", "res5"]
    # LightHamHead: channels of the Hamburger (squeeze output), NMF rank (16 for T/S, 64 for
    # B/L), multiplicative-update steps in training / evaluation, GroupNorm groups. The output
    # width is MODEL.SEM_SEG_HEAD.CHANNELS.
    cfg.MODEL.SEM_SEG_HEAD.HAM_CHANNELS = 256
    cfg.MODEL.SEM_SEG_HEAD.HAM_RANK = 16
    cfg.MODEL.SEM_SEG_HEAD.HAM_TRAIN_STEPS = 6
    cfg.MODEL.SEM_SEG_HEAD.HAM_EVAL_STEPS = 7
    cfg.MODEL.SEM_SEG_HEAD.GN_GROUPS = 32


def add_efficient_config(cfg):
    """Add the keys of every efficient backbone and head."""
    add_mit_config(cfg)
    add_mscan_config(cfg)
    add_stdc_config(cfg)
    add_topformer_config(cfg)
    add_regseg_config(cfg)


def add_stdc_config(cfg):
    """Add ``MODEL.STDC.*`` (STDC encoders) and the STDCHead keys."""
    cfg.MODEL.STDC = CN()
    # "stdc1" (STDCNet813: 2/2/2 modules per stage) or "stdc2" (STDCNet1446: 4/5/3).
    cfg.MODEL.STDC.VARIANT = "stdc1"
    # Width of res2 (res3..res5: 4, 8, 16 times it) and convs per STDC module.
    cfg.MODEL.STDC.BASE = 64
    cfg.MODEL.STDC.NUM_CONVS = 4
    cfg.MODEL.STDC.NORM = "SyncBN"
    cfg.MODEL.STDC.OUT_FEATURES = ["res3", "res4", "res5"]
    # STDCHead: context-path width (ARM outputs), fusion width, width of the auxiliary/detail
    # branches, and the weights of the auxiliary losses and of the detail loss (BCE + Dice).
    cfg.MODEL.SEM_SEG_HEAD.STDC_CONTEXT_CHANNELS = 128
    cfg.MODEL.SEM_SEG_HEAD.STDC_FUSE_CHANNELS = 256
    cfg.MODEL.SEM_SEG_HEAD.STDC_AUX_CHANNELS = 64
    cfg.MODEL.SEM_SEG_HEAD.STDC_AUX_WEIGHT = 1.0
    cfg.MODEL.SEM_SEG_HEAD.STDC_DETAIL_WEIGHT = 1.0


def add_topformer_config(cfg):
    """Add ``MODEL.TOPFORMER.*`` and the SimpleSumHead key."""
    cfg.MODEL.TOPFORMER = CN()
    # Published size "t", "s", "b" (official local_configs/topformer/topformer_*.py).
    cfg.MODEL.TOPFORMER.VARIANT = "t"
    # Width of the injected maps; 0: the variant's (128 / 192 / 256).
    cfg.MODEL.TOPFORMER.OUT_CHANNELS = 0
    # Transformer blocks of the semantics extractor, and their stochastic depth.
    cfg.MODEL.TOPFORMER.DEPTH = 4
    cfg.MODEL.TOPFORMER.DROP_PATH_RATE = 0.1
    cfg.MODEL.TOPFORMER.NORM = "SyncBN"
    cfg.MODEL.TOPFORMER.OUT_FEATURES = ["res3", "res4", "res5"]
    # SimpleSumHead: depthwise 1x1 fuse conv (TopFormer-T's head).
    cfg.MODEL.SEM_SEG_HEAD.DEPTHWISE_FUSE = False


def add_regseg_config(cfg):
    """Add ``MODEL.REGSEG.*`` (RegSeg's exp48 body)."""
    cfg.MODEL.REGSEG = CN()
    cfg.MODEL.REGSEG.NORM = "SyncBN"
    cfg.MODEL.REGSEG.OUT_FEATURES = ["res2", "res3", "res4"]
