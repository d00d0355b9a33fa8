"""Keys of unsupervised domain adaptation (HIAST: docs/methods/hiast.md)."""

from detectron2.config import CfgNode as CN


def add_uda_config(cfg):
    """Add ``MODEL.UDA.*``, ``DATASETS.PSEUDO_LABEL_DIR``, ``INPUT.UDA.*`` and the
    ``SOLVER.COSINE_*`` keys of the "SharedFloorCosineLR" schedule."""
    cfg.MODEL.UDA = CN()
    # BatchNorm weight/bias not trained while running statistics still update (§10 #2).
    cfg.MODEL.UDA.FREEZE_BN_AFFINE = False
    # Stage 1, AdaptSegNet warm-up (§3): source CE + LAMBDA x adversarial loss on the target's
    # softmax; LOSS "mse" (least squares) or "bce" (with logits); the discriminator's own Adam.
    a = cfg.MODEL.UDA.ADV = CN()
    a.LAMBDA = 0.05
    a.LOSS = "mse"
    a.D_LR = 1e-4
    a.D_BETAS = [0.9, 0.99]
    a.D_CHANNELS = 64
    h = cfg.MODEL.UDA.HIAST = CN()
    h.EMA_DECAY = 0.999
    # Backbone LR of rounds 1, 2, ... (SOLVER.BASE_LR = this / SOLVER.BACKBONE_MULTIPLIER), read
    # by tools/run_self_training.py; the number of entries is the number of rounds.
    h.ROUND_LRS = [
        3e-6,
        2e-6,
        1e-6,
    ]  # teacher <- m * teacher + (1 - m) * student, buffers copied (§7)
    # IAS (§4): initial threshold, alpha, beta, gamma, reset value of a threshold reaching 1,
    # momentum of the per-class mean confidence.
    h.IAS = CN()
    h.IAS.INIT_THRESHOLD = 0.9
    h.IAS.ALPHA = 0.5
    h.IAS.BETA = 0.9
    h.IAS.GAMMA = 8.0
    h.IAS.CLIP = 0.999
    h.IAS.MEAN_MOMENTUM = 0.99
    h.IAS.BATCH_SIZE = 2
    # HPLA (§5): hard classes, donor filter, classes never drawn (SYNTHIA: [9, 14, 16]).
    h.HPLA = CN()
    h.HPLA.ENABLED = True
    h.HPLA.NUM_HARD_CLASSES = 14
    h.HPLA.DROP_FRACTION = 0.1
    h.HPLA.EXCLUDED_CLASSES = []
    # Loss weights (§6), with the official normalisations.
    h.LOSS = CN()
    h.LOSS.CE = 1.0
    h.LOSS.KLD = 0.1
    h.LOSS.ENT = 1.0
    h.LOSS.CST = 0.5
    # Output of tools/generate_pseudo_labels.py for DATASETS.TRAIN (the target train set).
    cfg.DATASETS.PSEUDO_LABEL_DIR = ""
    # Two views (§8): weak = flip + random-sized crop resized to OUTPUT_SIZE (h, w), crop height
    # ~ U[CROP_HEIGHT_RANGE], width = CROP_ASPECT * height; strong = STRONG_NUM_OPS of the 8
    # photometric ops, each applied with STRONG_OP_PROB.
    cfg.INPUT.UDA = CN()
    cfg.INPUT.UDA.CROP_HEIGHT_RANGE = [341, 1000]
    cfg.INPUT.UDA.CROP_ASPECT = 2.0
    cfg.INPUT.UDA.OUTPUT_SIZE = [512, 1024]
    cfg.INPUT.UDA.STRONG_NUM_OPS = 3
    cfg.INPUT.UDA.STRONG_OP_PROB = 0.5
    # "SharedFloorCosineLR": T_max (0: SOLVER.MAX_ITER) and eta_min = factor x the backbone LR.
    cfg.SOLVER.COSINE_T_MAX = 0
    cfg.SOLVER.COSINE_ETA_MIN_FACTOR = 1e-3
