"""Keys of the classic CNN architectures (docs/models.md): VGG-16, U-Net, SegNet, ENet, HDC and the
head options of FCN-8s/16s/32s, GCN and DUC."""

from detectron2.config import CfgNode as CN


def add_classic_config(cfg):
    """Add ``MODEL.{VGG, UNET, SEGNET, ENET, HDC, IDENTITY_BACKBONE}`` and the classic heads' keys
    under ``MODEL.SEM_SEG_HEAD``."""
    # VGG-16 backbone ("build_vgg16_backbone"): width of the first stage (64 in the paper; the
    # others are 2x, 4x, 8x, 8x), norm ("" for VGG-16, "BN" for VGG-16-BN), channels of the
    # convolutionalised fc6/fc7 (0: none), their dropout, and the outputs (res1..res5 at strides
    # 2..32, fc7 at 32).
    cfg.MODEL.VGG = CN()
    cfg.MODEL.VGG.BASE_CHANNELS = 64
    cfg.MODEL.VGG.NORM = ""
    cfg.MODEL.VGG.FC_CHANNELS = 4096
    cfg.MODEL.VGG.FC_DROPOUT = 0.5
    cfg.MODEL.VGG.OUT_FEATURES = ["res3", "res4", "fc7"]
    # U-Net ("build_unet_encoder_backbone" + "UNetHead"): first width (64 -> 1024 over 5 levels),
    # bilinear upsampling instead of transposed convs (halves the bottom level), norm.
    cfg.MODEL.UNET = CN()
    cfg.MODEL.UNET.BASE_CHANNELS = 64
    cfg.MODEL.UNET.BILINEAR = False
    cfg.MODEL.UNET.NORM = "BN"
    # SegNetHead: VGG-16 width and norm of encoder and decoder.
    cfg.MODEL.SEGNET = CN()
    cfg.MODEL.SEGNET.BASE_CHANNELS = 64
    cfg.MODEL.SEGNET.NORM = "BN"
    # ENetHead: width of the initial block (16; the bottlenecks use 4x and 8x).
    cfg.MODEL.ENET = CN()
    cfg.MODEL.ENET.BASE_CHANNELS = 16
    # "build_identity_backbone": inputs are padded to a multiple of this (SegNet 32, ENet 8).
    cfg.MODEL.IDENTITY_BACKBONE = CN()
    cfg.MODEL.IDENTITY_BACKBONE.SIZE_DIVISIBILITY = 32
    # "build_resnet_hdc_backbone" (output stride 8): dilation rates cycled over the blocks of res4
    # and res5 (saw-tooth, hybrid dilated convolution).
    cfg.MODEL.HDC = CN()
    cfg.MODEL.HDC.RES4_DILATIONS = [1, 2, 5, 9]
    cfg.MODEL.HDC.RES5_DILATIONS = [5, 9, 17]
    # FCNSkipHead: 32, 16 or 8 (FCN-32s/16s/8s), and whether its deconvolutions are trained.
    cfg.MODEL.SEM_SEG_HEAD.FCN_OUTPUT_STRIDE = 8
    cfg.MODEL.SEM_SEG_HEAD.LEARN_UPSAMPLE = True
    # GCNHead: kernel size k of the global convolutions (k x 1 + 1 x k); its width is CHANNELS.
    cfg.MODEL.SEM_SEG_HEAD.GCN_KERNEL_SIZE = 15
    # DUCHead: pixel-shuffle factor d (0: the feature's stride, i.e. full resolution).
    cfg.MODEL.SEM_SEG_HEAD.DUC_UPSCALE = 0
