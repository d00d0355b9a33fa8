"""HL (hardness level) keys, the PSPNet/FCN head keys and the auxiliary-head keys.

See docs/methods/hl.md. The HL defaults are the constants hard-coded in the official
``HLEncoderDecoder.forward_train`` (eps 0.1, lambda_HL 0.01) and mmseg's ``BaseDecodeHead`` init.
"""

from detectron2.config import CfgNode as CN


def add_hardness_config(cfg):
    """Add ``MODEL.HARDNESS.*``, ``MODEL.AUX_HEAD.*`` and the PSPNet/FCN ``MODEL.SEM_SEG_HEAD.*``
    keys."""
    cfg.MODEL.HARDNESS = CN()
    # Turn the HL branch on. Meta-architecture-level HL wrappers read this key; for per-pixel
    # models the switch is MODEL.SEM_SEG_HEAD.NAME = "HardnessHead" (which refuses ENABLED False).
    cfg.MODEL.HARDNESS.ENABLED = False
    # Registered per-pixel head that HardnessHead wraps (the decode head) and copies, with one
    # output channel, as the HL branch. It must have the layers()/losses()/pixel_loss() split and
    # a per-pixel loss (MODEL.SEM_SEG_HEAD.LOSS_TYPE with a pixel_loss, e.g. "cross_entropy").
    cfg.MODEL.HARDNESS.HEAD_NAME = "DeepLabV3PlusPerPixelHead"
    # eps in h = sigmoid(z) + eps; bounds the max/min pixel weight ratio by (1 + eps) / eps.
    cfg.MODEL.HARDNESS.EPS = 0.1
    # lambda_HL: weight of the HL term -lambda_HL * sum(w * sg(l)) ("loss_hardness").
    cfg.MODEL.HARDNESS.LOSS_WEIGHT = 0.01
    # Std of the normal init of the HL branch's final 1x1 conv (bias 0), mmseg's BaseDecodeHead
    # init: the HL logit starts near 0, so the first weighted loss equals the mean CE over pixels.
    cfg.MODEL.HARDNESS.PREDICTOR_INIT_STD = 0.01
    # Write the hardness map of the first training image (and its per-pixel loss) to the event
    # storage (TensorBoard "hardness/...") every this many iterations; 0 disables.
    cfg.MODEL.HARDNESS.VIS_PERIOD = 1000

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

    # Extra evaluator (hardseg/evaluation/difficulty.py): IoU/accuracy binned by each pixel's
    # distance (px) to the nearest ground-truth class boundary, to see where HL helps. Off when
    # empty; otherwise increasing bin edges starting at 0, e.g. [0, 2, 4, 8, 16, 32].
    cfg.TEST.DIFFICULTY_BINS = []

    # ResNet option for mmseg's ResNetV1c "contract_dilation": the first block of a dilated stage
    # uses half the stage's dilation (res4 1,2,2.. and res5 2,4,4 at output stride 8). With
    # STEM_TYPE "deeplab", STEM_OUT_CHANNELS 64 and STRIDE_IN_1X1 False this is mmseg's V1c.
    cfg.MODEL.RESNETS.CONTRACT_DILATION = False
    # Pad images (and labels, with the ignore value) to a multiple of this before the backbone;
    # 0: no padding (detectron2's ResNet). 4 lets 769x769 crops train heads that upsample their
    # stride-4 logits by 4 (772 = 193 x 4).
    cfg.MODEL.RESNETS.SIZE_DIVISIBILITY = 0
