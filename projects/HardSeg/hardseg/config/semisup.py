"""Semi-supervised keys: the unlabeled data stream, the mean-teacher wrapper and U2PL.

See docs/methods/u2pl.md. Defaults follow the official U2PL code (Haochen-Wang409/U2PL,
``main`` @ab3d2be: ``train_semi.py``, ``u2pl/utils/loss_helper.py``,
``experiments/pascal/1464/ours/config.yaml``); where the paper differs (docs/methods/u2pl.md §9) the
paper's variant is a switch. The iteration-based trainer maps the official epochs onto iterations
with ``MODEL.SEMISUP.EPOCH_ITERS``: epoch e = iter // EPOCH_ITERS, E =
SOLVER.MAX_ITER / EPOCH_ITERS.
"""

from detectron2.config import CfgNode as CN


def add_semisup_config(cfg):
    """Add ``DATASETS.TRAIN_UNLABELED``, ``SOLVER.IMS_PER_BATCH_UNLABELED``, ``MODEL.SEMISUP.*``
    and ``MODEL.SEMISUP.U2PL.*``."""
    # Registered datasets of unlabeled images (dicts without "sem_seg_file_name" are fine). When
    # non-empty, the Trainer builds the two-stream loader, which yields
    # {"labeled": [dicts of DATASETS.TRAIN], "unlabeled": [dicts of DATASETS.TRAIN_UNLABELED]}.
    cfg.DATASETS.TRAIN_UNLABELED = ()
    # Global batch of the unlabeled stream; 0: the same as SOLVER.IMS_PER_BATCH (U2PL: 16 + 16).
    cfg.SOLVER.IMS_PER_BATCH_UNLABELED = 0

    # The official U2PL weak augmentation (u2pl/dataset/augmentation.py, docs/methods/u2pl.md §13),
    # read by hardseg.data.build_sem_seg_train_aug for every per-pixel training mapper.
    # RANDOM_SCALE.ENABLED: resize by s, s ~ U[RANGE[0], 1] or U[1, RANGE[1]] with probability 1/2
    # each, instead of INPUT.MIN_SIZE_TRAIN's shortest-edge resize.
    cfg.INPUT.RANDOM_SCALE = CN()
    cfg.INPUT.RANDOM_SCALE.ENABLED = False
    cfg.INPUT.RANDOM_SCALE.RANGE = (0.5, 2.0)
    # "none": images smaller than the crop are cropped as they are and padded by the batch (labels
    # with the ignore value); "center": padded to the crop size first, centred, the image with 0
    # and the label with PAD_LABEL_VALUE (official U2PL: 0, which counts as class 0).
    cfg.INPUT.CROP.PAD = "none"
    cfg.INPUT.CROP.PAD_LABEL_VALUE = 0

    cfg.MODEL.SEMISUP = CN()
    # Registered meta-architecture of the student (and of the teacher, built the same way from the
    # same config), e.g. "HardSegmentor" with a per-pixel head (DeepLabV3PlusPerPixelHead).
    cfg.MODEL.SEMISUP.STUDENT_META_ARCHITECTURE = "HardSegmentor"
    # Iterations per "epoch" of the official schedule (one pass over the unlabeled set:
    # N_unlabeled // global unlabeled batch, docs/methods/u2pl.md §6). Required (> 0) by U2PL: the
    # sup-only warm-up, the teacher copy and the DPA schedule are defined per epoch.
    cfg.MODEL.SEMISUP.EPOCH_ITERS = 0
    # Supervised-only warm-up, in epochs (official code default 1 = `sup_only_epoch`; the
    # Cityscapes configs set 0). During it L = L_sup and the teacher only updates its BN stats.
    cfg.MODEL.SEMISUP.SUP_ONLY_EPOCHS = 1
    # EMA decay (official `net.ema_decay` 0.99). m = min(1 - 1/(k + 1), EMA_DECAY) with
    # k = iter - SUP_ONLY_EPOCHS * EPOCH_ITERS; parameters only, the teacher's BN buffers are its own.
    cfg.MODEL.SEMISUP.EMA_DECAY = 0.99
    # Weight of the unsupervised CE on reliable pseudo-labels (official `unsupervised.loss_weight`
    # absent -> 1).
    cfg.MODEL.SEMISUP.UNSUP_WEIGHT = 1.0
    # Strong batch mix of the unlabeled images and their pseudo-labels:
    # "cutmix" (official default `apply_aug: cutmix`) | "cutout" | "classmix" | "none".
    cfg.MODEL.SEMISUP.MIX = "cutmix"
    # Probability of mixing in an iteration: one coin per iteration for the whole batch (official
    # `np.random.uniform(0, 1) < 0.5`).
    cfg.MODEL.SEMISUP.MIX_PROB = 0.5
    # Share of the mix rectangle for cutmix/cutout: area = H*W / MIX_AREA_RATIO (official
    # `generate_cutout_mask(img_size, ratio=2)`).
    cfg.MODEL.SEMISUP.MIX_AREA_RATIO = 2.0
    # Model used at inference (evaluation): "teacher" (official, once the sup-only warm-up is over;
    # before that, and before the teacher was ever synced, the student is used) | "student".
    cfg.MODEL.SEMISUP.EVAL_MODEL = "teacher"
    # align_corners of U2PL's bilinear resizes of logits to the crop size (pseudo-labels, entropy,
    # unsupervised loss). True: the official code, which resizes every map with
    # align_corners=True (docs/methods/u2pl.md §13); False: HardSeg's heads' convention.
    cfg.MODEL.SEMISUP.ALIGN_CORNERS = True

    cfg.MODEL.SEMISUP.U2PL = CN()
    # alpha_0 in percent (official `low_entropy_threshold` 20 = 100 - `drop_percent` 80):
    # alpha_t = ALPHA0 * (1 - e / E) is (a) the share of highest-entropy unlabeled pixels dropped
    # from L_u, (b) the share of lowest-entropy ones that are anchor candidates and (c) the share
    # of highest-entropy ones that are negative candidates.
    cfg.MODEL.SEMISUP.U2PL.ALPHA0 = 20.0
    # Negative rank window (official `low_rank` 3, `high_rank` 20): an unlabeled pixel is a negative
    # for class c when c's rank in the teacher's sorted probabilities is in [LOW_RANK, HIGH_RANK).
    # With 2 classes use LOW_RANK 1 (maintainer, issues #11/#17).
    cfg.MODEL.SEMISUP.U2PL.LOW_RANK = 3
    cfg.MODEL.SEMISUP.U2PL.HIGH_RANK = 20
    # delta_p: anchors of class c need teacher probability P_c > this (official
    # `current_class_threshold` 0.3).
    cfg.MODEL.SEMISUP.U2PL.ANCHOR_PROB_THRESH = 0.3
    # delta_n: negatives of class c need P_c < this (official `current_class_negative_threshold`
    # 1, which makes the test a no-op, issue #109).
    cfg.MODEL.SEMISUP.U2PL.NEGATIVE_PROB_THRESH = 1.0
    # Anchors sampled per class, with replacement (official `num_queries` 256).
    cfg.MODEL.SEMISUP.U2PL.NUM_QUERIES = 256
    # Negatives per anchor, sampled from the class queue with replacement (`num_negatives` 50).
    cfg.MODEL.SEMISUP.U2PL.NUM_NEGATIVES = 50
    # InfoNCE temperature (official `temperature` 0.5).
    cfg.MODEL.SEMISUP.U2PL.TEMPERATURE = 0.5
    # Capacity of the per-class FIFO queue of teacher embeddings (official `queue_size` 30000) and
    # of class 0's (50000).
    cfg.MODEL.SEMISUP.U2PL.QUEUE_SIZE = 30000
    cfg.MODEL.SEMISUP.U2PL.QUEUE_SIZE_CLASS0 = 50000
    # Storage dtype of the queues ("float32" | "float16"); they are registered buffers, so they
    # are checkpointed (VOC, 21 classes at full capacity: about 0.67 GB in float32).
    cfg.MODEL.SEMISUP.U2PL.QUEUE_DTYPE = "float32"
    # Weight of the contrastive loss (official `contrastive.loss_weight` absent -> 1; the paper
    # uses 0.1, maintainer issues #22/#52/#57).
    cfg.MODEL.SEMISUP.U2PL.CONTRAST_WEIGHT = 1.0
    # Official: the local contrastive loss is all-reduced and divided by the world size, which
    # scales its gradient by 1 / world_size (docs/methods/u2pl.md §4.3). True reproduces that (the
    # loss is divided by the world size); False uses CONTRAST_WEIGHT as is (the
    # paper's reading, with 0.1).
    cfg.MODEL.SEMISUP.U2PL.CONTRAST_DIVIDE_BY_WORLD_SIZE = True
    # Which pixels may become negatives of class c (docs/methods/u2pl.md §9 #1):
    # "official": the official code's rule (pseudo-labeled c, unreliable, c ranked in
    #   [LOW_RANK, HIGH_RANK); labeled pixels never qualify);
    # "paper": labeled pixels with label != c and c ranked < LOW_RANK, plus unreliable unlabeled
    #   pixels with c ranked in [LOW_RANK, HIGH_RANK).
    cfg.MODEL.SEMISUP.U2PL.NEGATIVE_RULE = "official"
    # Unlabeled pixels that may give anchors and prototypes (docs/methods/u2pl.md §9 #4):
    # "official": the lowest alpha_t entropy share (shrinks with alpha_t); "reliable": all reliable
    # pixels (the paper's wording: entropy below the (100 - alpha_t) percentile).
    cfg.MODEL.SEMISUP.U2PL.ANCHOR_RULE = "official"
    # One-hot class maps of the contrastive loss (docs/methods/u2pl.md §13.1):
    # "official": as the official `label_onehot` (u2pl/utils/utils.py), which writes every image
    #   of the labeled half and of the unlabeled half into that half's first image, so only the
    #   first labeled and the first unlabeled image per GPU give anchors, prototypes and negatives
    #   (the union of the half's labels); the reported numbers come from it;
    # "per_image": each image's own labels (the intended behaviour).
    cfg.MODEL.SEMISUP.U2PL.LABEL_ONEHOT = "official"
    # Pairing in the loss's second loop (docs/methods/u2pl.md §9 #2, official issue #111):
    # "official": the i-th valid class uses the anchors and prototype of class id i with the
    #   queue of valid_classes[i]; "per_class": class c's own anchors, prototype and queue.
    cfg.MODEL.SEMISUP.U2PL.CLASS_INDEX = "official"
    # Embedding (representation) head, official `rep_head`: Conv3x3 C->D + BN + ReLU +
    # Dropout2d, Conv3x3 D->D + BN + ReLU + Dropout2d, Conv1x1 D->D.
    # D (official 256).
    cfg.MODEL.SEMISUP.U2PL.EMBED_DIM = 256
    # Dropout2d probability inside it (official 0.1).
    cfg.MODEL.SEMISUP.U2PL.EMBED_DROPOUT = 0.1
    # Norm of its convs (detectron2 get_norm name; official SyncBN, which falls back to BN in one
    # process or on CPU, like the rest of the model).
    cfg.MODEL.SEMISUP.U2PL.EMBED_NORM = "SyncBN"
    # Feature the head reads: "decoder_concat": the input of DeepLabV3+'s fuse convs (projected
    # res2 + upsampled ASPP, the official 512-ch feature that also feeds the classifier branch);
    # "pre_classifier": the input of the head's 1x1 `predictor` (any HardSeg per-pixel head).
    cfg.MODEL.SEMISUP.U2PL.EMBED_IN_FEATURE = "decoder_concat"
