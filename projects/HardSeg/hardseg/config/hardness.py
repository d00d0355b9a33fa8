"""HL (hardness level) keys.

The HL defaults are the constants hard-coded in the official ``HLEncoderDecoder.forward_train``
(eps 0.1, lambda_HL 0.01) and mmseg's ``BaseDecodeHead`` init.
"""

from detectron2.config import CfgNode as CN


def add_hardness_config(cfg):
    """Add ``MODEL.HARDNESS.*``."""
    cfg.MODEL.HARDNESS = CN()
    # Turn the HL branch on. Meta-architecture-level HL wrappers read this key; for per-pixel
    # models the switch is MODEL.SEM_SEG_HEAD.NAME = "HardnessHead" (which refuses ENABLED False).
    cfg.MODEL.HARDNESS.ENABLED = False
    # Registered per-pixel head that HardnessHead wraps (the decode head) and copies, with one
    # output channel, as the HL branch. It must have the layers()/losses()/pixel_loss() split and
    # a per-pixel loss (MODEL.SEM_SEG_HEAD.LOSS_TYPE with a pixel_loss, e.g. "cross_entropy").
    cfg.MODEL.HARDNESS.HEAD_NAME = "DeepLabV3PlusPerPixelHead"
    # The HL branch: "copy" (official: the decode head again, one output channel) or "light" (a
    # few convs on the detached backbone features of MODEL.SEM_SEG_HEAD.IN_FEATURES,
    # hardseg/modeling/heads/hl_light_branch.py; far cheaper on R101 models). Inference is the
    # same either way (the branch only runs in training). A HardnessHead key: the Mask2Former-style
    # model always has its own small branch and refuses "light".
    cfg.MODEL.HARDNESS.BRANCH = "copy"
    # Width of the "light" branch.
    cfg.MODEL.HARDNESS.LIGHT_CHANNELS = 64
    # eps in h = sigmoid(z) + eps; bounds the max/min pixel weight ratio by (1 + eps) / eps.
    cfg.MODEL.HARDNESS.EPS = 0.1
    # lambda_HL: weight of the HL term -lambda_HL * sum(w * sg(l)) ("loss_hardness").
    cfg.MODEL.HARDNESS.LOSS_WEIGHT = 0.01
    # Std of the normal init of the HL branch's final 1x1 conv (bias 0), mmseg's BaseDecodeHead
    # init: the HL logit starts near 0, so the first weighted loss equals the mean CE over pixels.
    # (The decode head's own classifier: MODEL.SEM_SEG_HEAD.PREDICTOR_INIT_STD.)
    cfg.MODEL.HARDNESS.PREDICTOR_INIT_STD = 0.01
    # Pixels the weights are normalised over (docs/methods/hl.md §8.5). "all_pixels" (official):
    # every pixel of the per-process batch, padded and ignored ones included. "kept_pixels": only
    # those the decode loss counts (labelled, and kept by OHEM when the loss is OHEM); the others
    # get weight 0, so under OHEM the supervised term stays a weighted mean over the kept pixels
    # and HL does not push the dropped ones to the floor. The U2PL + HL Cityscapes/VOC configs
    # use "kept_pixels".
    cfg.MODEL.HARDNESS.NORMALIZER = "all_pixels"
    # Where the hardness comes from (docs/methods/hl.md §8.6). "online": the HL branch of a
    # HardnessHead (MODEL.SEM_SEG_HEAD.NAME "HardnessHead"). "fixed": the official Mask2Former /
    # SegFormer variant: per-image maps exported by tools/export_hardness_maps.py from a trained
    # HL model, read by the mapper from INPUT.HARDNESS_MAP_DIR, weight a plain head's per-pixel
    # loss as w = (map + EPS) / sum(map + EPS) over the per-process batch (no HL branch, no
    # loss_hardness); on the Mask2Former-style model they weight the point mask losses, read at
    # the sampled points (docs/methods/mask2former.md §4.1; needs ENABLED False).
    cfg.MODEL.HARDNESS.SOURCE = "online"
    # Write the hardness map of the first training image (and its per-pixel loss) to the event
    # storage (TensorBoard "hardness/...") every this many iterations; 0 disables.
    cfg.MODEL.HARDNESS.VIS_PERIOD = 1000
