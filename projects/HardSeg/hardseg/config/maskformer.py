"""Mask-classification keys (MaskFormer / Mask2Former semantic segmentation).

Defaults are the values of Mask2Former's R50 semantic configs
(configs/cityscapes/semantic-segmentation/maskformer2_R50_bs16_90k.yaml, facebookresearch/
Mask2Former), where they differ from its ``add_maskformer2_config`` defaults (MaskFormer v1's).
"""

from detectron2.config import CfgNode as CN


def add_maskformer_config(cfg):
    """Add ``MODEL.MASK_FORMER.*``, the pixel-decoder ``MODEL.SEM_SEG_HEAD.*`` keys and
    ``INPUT.SIZE_DIVISIBILITY``."""
    # Pad the image and label in MaskFormerSemanticDatasetMapper to a multiple of this (<= 0: no
    # padding). Mask2Former: -1 for Cityscapes, 512 for ADE20K.
    cfg.INPUT.SIZE_DIVISIBILITY = -1
    # Photometric distortion of detectron2's PointRend ColorAugSSDTransform after the crop, before
    # the flip, in every per-pixel and mask-classification training mapper (official Mask2Former
    # semantic recipes: True, docs/methods/mask2former.md §6; the CAC / HRNet recipes: True, the
    # counterpart of mmseg's PhotoMetricDistortion, docs/methods/cac.md §8).
    cfg.INPUT.COLOR_AUG_SSD = False
    # How the training label is resized: "torch" (the official Mask2Former mapper reads the label
    # as float, so detectron2 resizes it with torch's nearest interpolation) | "pil" (uint8 label,
    # PIL's nearest). They differ on a few percent of the boundary pixels.
    cfg.INPUT.LABEL_RESIZE = "pil"

    mf = cfg.MODEL.MASK_FORMER = CN()
    # Registered name (TRANSFORMER_DECODER_REGISTRY) of the query decoder.
    mf.TRANSFORMER_DECODER_NAME = "MultiScaleMaskedTransformerDecoder"
    # Loss on every decoder prediction, not only the last.
    mf.DEEP_SUPERVISION = True
    # Class-CE weight of the "no object" class (the others have 1).
    mf.NO_OBJECT_WEIGHT = 0.1
    # Weights of the class CE, point BCE and point Dice; the matcher uses the same three as
    # cost weights.
    mf.CLASS_WEIGHT = 2.0
    mf.MASK_WEIGHT = 5.0
    mf.DICE_WEIGHT = 5.0
    # Transformer decoder: attention heads, dropout, FFN width, pre-norm (False = post-norm).
    mf.NHEADS = 8
    mf.DROPOUT = 0.0
    mf.DIM_FEEDFORWARD = 2048
    mf.PRE_NORM = False
    # Number of predictions: DEC_LAYERS - 1 transformer layers plus the prediction from the
    # learnable queries (Mask2Former's convention: 10 = 9 layers + 1).
    mf.DEC_LAYERS = 10
    # Query width, number of queries.
    mf.HIDDEN_DIM = 256
    mf.NUM_OBJECT_QUERIES = 100
    # Always put a 1x1 projection between the pixel decoder's scales and the decoder (otherwise
    # only when CONVS_DIM != HIDDEN_DIM).
    mf.ENFORCE_INPUT_PROJ = False
    # Pixel-decoder scales the decoder attends to, round-robin, coarsest first.
    mf.NUM_FEATURE_LEVELS = 3
    # Model-side padding of the batch; < 0 uses the backbone's size_divisibility.
    mf.SIZE_DIVISIBILITY = 32
    # Points per matched mask for the BCE/Dice losses and the matching cost (112 * 112), and
    # PointRend's importance sampling: draw OVERSAMPLE_RATIO * points uniformly, keep the
    # IMPORTANCE_SAMPLE_RATIO most uncertain of them, the rest uniform.
    mf.TRAIN_NUM_POINTS = 12544
    mf.OVERSAMPLE_RATIO = 3.0
    mf.IMPORTANCE_SAMPLE_RATIO = 0.75
    mf.TEST = CN()
    # Resize the masks to the output size before combining them with the class scores (True)
    # or combine at the padded input size and resize the K score maps (False).
    mf.TEST.SEM_SEG_POSTPROCESSING_BEFORE_INFERENCE = False

    head = cfg.MODEL.SEM_SEG_HEAD
    # Channels of mask_features (the per-pixel embeddings the queries' mask embeddings dot).
    head.MASK_DIM = 256
    # Registered name (PIXEL_DECODER_REGISTRY): "MSDeformAttnPixelDecoder" or "FPNPixelDecoder".
    head.PIXEL_DECODER_NAME = "MSDeformAttnPixelDecoder"
    # Deformable encoder of MSDeformAttnPixelDecoder: layers, input levels, heads, points per
    # level and head, FFN width (Mask2Former hard-codes 1024).
    head.TRANSFORMER_ENC_LAYERS = 6
    head.DEFORMABLE_TRANSFORMER_ENCODER_IN_FEATURES = ["res3", "res4", "res5"]
    head.DEFORMABLE_TRANSFORMER_ENCODER_N_HEADS = 8
    head.DEFORMABLE_TRANSFORMER_ENCODER_N_POINTS = 4
    head.DEFORMABLE_TRANSFORMER_ENCODER_DIM_FEEDFORWARD = 1024
