"""Loss keys: which losses a per-pixel head sums, with what weights, and each loss's options.

See docs/methods/losses.md. Every default below is the default of the loss class it
configures (``hardseg.modeling.losses``); ``tests/modeling/test_losses.py`` pins that.
"""

from detectron2.config import CfgNode as CN


def add_losses_config(cfg):
    """Add ``MODEL.SEM_SEG_HEAD.{LOSSES, LOSS_WEIGHTS}`` and ``MODEL.SEM_SEG_LOSS.*``."""
    # Losses of the per-pixel head, summed with LOSS_WEIGHTS (each times SEM_SEG_HEAD.LOSS_WEIGHT);
    # names from SEM_SEG_LOSS_REGISTRY. Empty: the single loss LOSS_TYPE (key "loss_sem_seg").
    # With one or more names each term is its own key "loss_sem_seg_<name>" (a single name:
    # "loss_sem_seg"). Losses that need distance maps make the mapper compute them.
    cfg.MODEL.SEM_SEG_HEAD.LOSSES = []
    # One weight per entry of LOSSES; empty = all 1.0.
    cfg.MODEL.SEM_SEG_HEAD.LOSS_WEIGHTS = []

    # Options of each loss, one node per registered name (upper-cased); keys are the lower-cased
    # constructor arguments. An empty list means "not set" (None).
    cfg.MODEL.SEM_SEG_LOSS = CN()
    L = cfg.MODEL.SEM_SEG_LOSS

    # "cross_entropy": PyTorch CE. Per-class weights (empty = none; e.g. U2PL's Cityscapes vector).
    L.CROSS_ENTROPY = CN()
    L.CROSS_ENTROPY.CLASS_WEIGHTS = []
    # Label smoothing epsilon in [0, 1).
    L.CROSS_ENTROPY.LABEL_SMOOTHING = 0.0
    # True: divide by N*H*W (ignored pixels included), mmseg's avg_non_ignore=False scale.
    L.CROSS_ENTROPY.AVG_OVER_ALL_PIXELS = False

    # "hard_pixel_mining": detectron2 DeepLab's top-k pixel CE; fraction of pixels kept.
    L.HARD_PIXEL_MINING = CN()
    L.HARD_PIXEL_MINING.TOP_K_PERCENT_PIXELS = 0.2

    # "ohem_cross_entropy": U2PL/OHEM-2d variant. Keep pixels whose GT-class probability is
    # <= max(THRESH, MIN_KEPT-th smallest probability) (all valid pixels if fewer than MIN_KEPT).
    L.OHEM_CROSS_ENTROPY = CN()
    L.OHEM_CROSS_ENTROPY.THRESH = 0.7
    # Minimum number of kept pixels, per batch (or per image with MIN_KEPT_PER_IMAGE, mmseg).
    L.OHEM_CROSS_ENTROPY.MIN_KEPT = 100000
    L.OHEM_CROSS_ENTROPY.MIN_KEPT_PER_IMAGE = False
    # "kept": mean over kept pixels (U2PL); "all_pixels": sum / (N*H*W) (mmseg).
    L.OHEM_CROSS_ENTROPY.NORMALIZE = "kept"

    # "focal": softmax focal loss. Focusing exponent gamma (0 = CE).
    L.FOCAL = CN()
    L.FOCAL.GAMMA = 2.0
    # Per-class alpha factors (empty = all 1).
    L.FOCAL.ALPHA = []

    # "dist_penalty_cross_entropy": CE weighted by 1 + SCALE * D, D = 1 on GT boundaries.
    L.DIST_PENALTY_CROSS_ENTROPY = CN()
    L.DIST_PENALTY_CROSS_ENTROPY.SCALE = 1.0

    # Region losses. SMOOTH is added to numerator and denominator; BATCH: counts over the whole
    # batch instead of per image; CLASS_AVG: "present" (classes in the GT) or "all".
    # "dice": soft Dice; SQUARED: V-Net denominator sum p^2 + sum g; LOG_LOSS: -log Dice per class.
    L.DICE = CN()
    L.DICE.SMOOTH = 1e-5
    L.DICE.BATCH = False
    L.DICE.CLASS_AVG = "present"
    L.DICE.SQUARED = False
    L.DICE.LOG_LOSS = False
    # "generalized_dice": W_TYPE "square" (1/G^2), "simple" (1/G) or "uniform" (1).
    L.GENERALIZED_DICE = CN()
    L.GENERALIZED_DICE.SMOOTH = 1e-5
    L.GENERALIZED_DICE.BATCH = False
    L.GENERALIZED_DICE.W_TYPE = "square"
    # "soft_iou": soft Jaccard.
    L.SOFT_IOU = CN()
    L.SOFT_IOU.SMOOTH = 1e-5
    L.SOFT_IOU.BATCH = False
    L.SOFT_IOU.CLASS_AVG = "present"
    # "tversky": FP_WEIGHT multiplies FP, FN_WEIGHT multiplies FN (0.5/0.5 = Dice, 1/1 = IoU).
    L.TVERSKY = CN()
    L.TVERSKY.SMOOTH = 1e-5
    L.TVERSKY.BATCH = False
    L.TVERSKY.CLASS_AVG = "present"
    L.TVERSKY.FP_WEIGHT = 0.3
    L.TVERSKY.FN_WEIGHT = 0.7
    # "focal_tversky": mean_c (1 - TI_c)^EXPONENT (POWER "per_class"), or the power of the mean
    # ("after_mean", smp's form). EXPONENT = 1/gamma of the paper.
    L.FOCAL_TVERSKY = CN()
    L.FOCAL_TVERSKY.SMOOTH = 1e-5
    L.FOCAL_TVERSKY.BATCH = False
    L.FOCAL_TVERSKY.CLASS_AVG = "present"
    L.FOCAL_TVERSKY.FP_WEIGHT = 0.3
    L.FOCAL_TVERSKY.FN_WEIGHT = 0.7
    L.FOCAL_TVERSKY.EXPONENT = 0.75
    L.FOCAL_TVERSKY.POWER = "per_class"

    # "lovasz_softmax": CLASSES "present" or "all"; PER_IMAGE: one loss per image, then the mean.
    L.LOVASZ_SOFTMAX = CN()
    L.LOVASZ_SOFTMAX.CLASSES = "present"
    L.LOVASZ_SOFTMAX.PER_IMAGE = False

    # "boundary": no option (signed distance maps from the mapper).
    L.BOUNDARY = CN()
    # "gdl_boundary": (1 - a_t) * generalized Dice + a_t * boundary, with
    # a_t = min(ALPHA0 + ALPHA_STEP * floor(iter / STEP_ITERS), 1 - MIN_GDL_WEIGHT) (Kervadec's
    # schedule: +0.01 per epoch; set STEP_ITERS to the iterations of one epoch).
    L.GDL_BOUNDARY = CN()
    L.GDL_BOUNDARY.ALPHA0 = 0.01
    L.GDL_BOUNDARY.ALPHA_STEP = 0.01
    L.GDL_BOUNDARY.STEP_ITERS = 1000
    L.GDL_BOUNDARY.MIN_GDL_WEIGHT = 0.1
    # "hausdorff_dt": distance exponent alpha.
    L.HAUSDORFF_DT = CN()
    L.HAUSDORFF_DT.ALPHA = 2.0

    # "ce_dice": LAMBDA_CE * CE + LAMBDA_DICE * Dice.
    L.CE_DICE = CN()
    L.CE_DICE.LAMBDA_CE = 1.0
    L.CE_DICE.LAMBDA_DICE = 1.0
    L.CE_DICE.SMOOTH = 1e-5
    L.CE_DICE.CLASS_AVG = "present"
    # "combo": ALPHA * weighted BCE - (1 - ALPHA) * Dice; BETA weights the positive BCE term.
    L.COMBO = CN()
    L.COMBO.ALPHA = 0.5
    L.COMBO.BETA = 0.5
    L.COMBO.SMOOTH = 1.0
    L.COMBO.CLASS_AVG = "present"
    # "exp_log": W_DICE * E[(-ln Dice_c)^GAMMA_DICE] + W_CROSS * E[w_y (-ln q)^GAMMA_CROSS];
    # FORM "paper" or "seglossodyssey"; CLASS_WEIGHTS w_l (empty = all 1).
    L.EXP_LOG = CN()
    L.EXP_LOG.W_DICE = 0.8
    L.EXP_LOG.W_CROSS = 0.2
    L.EXP_LOG.GAMMA_DICE = 0.3
    L.EXP_LOG.GAMMA_CROSS = 0.3
    L.EXP_LOG.SMOOTH = 1.0
    L.EXP_LOG.CLASS_WEIGHTS = []
    L.EXP_LOG.FORM = "paper"
    L.EXP_LOG.CLASS_AVG = "present"
