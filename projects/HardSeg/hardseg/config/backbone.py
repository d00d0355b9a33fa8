"""HardSeg's keys of the dilated ResNet backbone (``build_resnet_dilated_backbone``)."""


def add_hrnet_config(cfg):
    """Add ``MODEL.HRNET.*`` (``build_hrnet_backbone``)."""
    from detectron2.config import CfgNode as CN

    cfg.MODEL.HRNET = CN()
    # HRNetV2 width W: 18, 32 or 48 (branch widths W, 2W, 4W, 8W; outputs hr1..hr4).
    cfg.MODEL.HRNET.WIDTH = 48
    # Norm of every HRNet layer; "" = MODEL.RESNETS.NORM.
    cfg.MODEL.HRNET.NORM = ""


def add_backbone_config(cfg):
    """Add ``MODEL.RESNETS.CONTRACT_DILATION``, ``SIZE_DIVISIBILITY`` and
    ``STEM_POOL_CEIL_MODE``."""
    # ResNet option for mmseg's ResNetV1c "contract_dilation": the first block of a dilated stage
    # uses half the stage's dilation (res4 1,2,2.. and res5 2,4,4 at output stride 8). With
    # STEM_TYPE "deeplab", STEM_OUT_CHANNELS 64 and STRIDE_IN_1X1 False this is mmseg's V1c.
    cfg.MODEL.RESNETS.CONTRACT_DILATION = False
    # Pad images (and labels, with the ignore value) to a multiple of this before the backbone;
    # 0: no padding (detectron2's ResNet). Heads resize their logits to the label size for the
    # loss, so any value trains; inference pads to it and crops. Not used with
    # INPUT.CROP.PAD_TO_SIZE (training pads to the crop size, inference runs unpadded).
    cfg.MODEL.RESNETS.SIZE_DIVISIBILITY = 0
    # The stem's 3x3 stride-2 max-pool rounds its output size up (ceil_mode=True), as the official
    # U2PL deep-stem ResNet (docs/methods/u2pl.md §13.4). Same sizes for the official odd crops
    # (769, 513); one more row/column for sizes whose stride-2 conv output is even (H = 772 -> res2
    # 194, a 1024x2048 image -> 257x513), and inference then resizes the logits to the input size
    # instead of upsampling x4 and cropping. False: detectron2's floor-mode stem.
    cfg.MODEL.RESNETS.STEM_POOL_CEIL_MODE = False
