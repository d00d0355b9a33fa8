"""Keys of HardSeg's own per-pixel heads (PSPNetHead, FCNHead) and of the auxiliary head."""

from detectron2.config import CfgNode as CN


def add_pspnet_fcn_config(cfg):
    """Add the PSPNetHead / FCNHead keys under ``MODEL.SEM_SEG_HEAD``."""
    # PSPNetHead (pyramid pooling, Zhao et al. 2017) and FCNHead, mmseg's PSPHead/FCNHead.
    # Pyramid-pooling output sizes (adaptive average pooling to s x s for each s).
    cfg.MODEL.SEM_SEG_HEAD.POOL_SCALES = [1, 2, 3, 6]
    # Channels of each pooling branch and of the 3x3 bottleneck (PSPNetHead), or of the FCNHead
    # convs.
    cfg.MODEL.SEM_SEG_HEAD.CHANNELS = 512
    # Dropout2d before the classifier (PSPNetHead, FCNHead).
    cfg.MODEL.SEM_SEG_HEAD.DROPOUT = 0.1
    # align_corners of every bilinear resize inside PSPNetHead/FCNHead (pyramid branches, logits
    # to label size). mmseg's 769x769 Cityscapes configs use True.
    cfg.MODEL.SEM_SEG_HEAD.ALIGN_CORNERS = False
    # FCNHead: number of 3x3 convs, and whether the input is concatenated to their output.
    cfg.MODEL.SEM_SEG_HEAD.NUM_CONVS = 2
    cfg.MODEL.SEM_SEG_HEAD.CONCAT_INPUT = True
    # Std of the normal init of the classifier (final 1x1 conv, bias 0) of PSPNetHead/FCNHead
    # (and of the auxiliary head), mmseg's BaseDecodeHead init.
    cfg.MODEL.SEM_SEG_HEAD.PREDICTOR_INIT_STD = 0.01


def add_aux_head_config(cfg):
    """Add ``MODEL.AUX_HEAD.*``."""
    # Optional auxiliary head (mmseg's FCN head on res4, weight 0.4), trained with its own plain
    # mean loss under the key "loss_aux"; never run at inference and never HL-weighted.
    cfg.MODEL.AUX_HEAD = CN()
    # Registered per-pixel head name, "" for no auxiliary head.
    cfg.MODEL.AUX_HEAD.NAME = ""
    # Backbone feature it reads (add it to MODEL.RESNETS.OUT_FEATURES).
    cfg.MODEL.AUX_HEAD.IN_FEATURES = ["res4"]
    # Channels of its convs, number of 3x3 convs, input concatenation, dropout.
    cfg.MODEL.AUX_HEAD.CHANNELS = 256
    cfg.MODEL.AUX_HEAD.NUM_CONVS = 1
    cfg.MODEL.AUX_HEAD.CONCAT_INPUT = False
    cfg.MODEL.AUX_HEAD.DROPOUT = 0.1
    # Weight of loss_aux.
    cfg.MODEL.AUX_HEAD.LOSS_WEIGHT = 0.4
    # Loss of the auxiliary head (SEM_SEG_LOSS_REGISTRY name).
    cfg.MODEL.AUX_HEAD.LOSS_TYPE = "cross_entropy"
