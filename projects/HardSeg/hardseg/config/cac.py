"""CAC (confidence-aware contrastive) keys; see docs/methods/cac.md.

Defaults are the official Cityscapes FCN-HRNetV2-W48 values (CVIU-CSU/Confidence-Aware-
Contrastive-Loss, ``configs/cac_hrnet/`` and ``mmseg/models/losses/cac_loss.py``).
"""

from detectron2.config import CfgNode as CN


def add_cac_config(cfg):
    """Add ``MODEL.CAC.*``. CAC is on when MODEL.SEM_SEG_HEAD.NAME is
    "ConfidenceAwareContrastiveHead"."""
    cfg.MODEL.CAC = CN()
    # Mask classification only (MODEL.META_ARCHITECTURE "HardMaskFormer"): add HardSeg's CAC
    # adapter on the pixel decoder's mask_features (docs/methods/cac.md §8). Per-pixel models
    # turn CAC on by the head name instead.
    cfg.MODEL.CAC.ENABLED = False
    # Registered per-pixel head that the CAC head wraps (may itself be "HardnessHead", which then
    # wraps MODEL.HARDNESS.HEAD_NAME: CAC + HL in one config).
    cfg.MODEL.CAC.HEAD_NAME = "FCNHead"
    # Name of the head feature (layers(..., return_features=True)) that feeds the projection head
    # and the weight branch; "" = "head_input" if the head has it, else "decoder_concat", else
    # "pre_classifier" (docs/methods/cac.md §2).
    cfg.MODEL.CAC.INPUT_FEATURE = ""
    # Weight branch: "auto" = the head's own when it offers one and X is its "head_input"
    # (HRNetOCRHead: a second OCR stage; SegFormerHead: the official CACSegformerHead per-level
    # convs), else "conv" (conv k x k + classifier on X); "head" insists on the head's own.
    cfg.MODEL.CAC.WEIGHT_BRANCH = "auto"
    # alpha: weight of loss_cac (0.4 Cityscapes FCN-HR48, 0.6 OCR-HR48, 1.0 Pascal-Context-59,
    # 3.5 COCO-Stuff-10k FCN-HR48).
    cfg.MODEL.CAC.LOSS_WEIGHT = 0.4
    # beta: weight of the weight branch's CE, "loss_sem_seg_weight".
    cfg.MODEL.CAC.WEIGHT_LOSS_WEIGHT = 1.5
    # alpha is 0 while the training iteration is below this (official: 5000 on Cityscapes; 0 off).
    cfg.MODEL.CAC.WARMUP_ITERS = 0
    # Anchor budget per process, and the pixel count a class must exceed in an image (also the
    # per-(image, class) cap).
    cfg.MODEL.CAC.MAX_SAMPLE = 1024
    cfg.MODEL.CAC.THRESHOLD = 100
    # tau and tau_0 (the loss is scaled by tau / tau_0).
    cfg.MODEL.CAC.TEMPERATURE = 0.1
    cfg.MODEL.CAC.BASE_TEMPERATURE = 0.07
    # Marginal ordering by the main head's confidence (False: uniform random subsets).
    cfg.MODEL.CAC.HARD_SORT = True
    cfg.MODEL.CAC.EASY_SORT = True
    # "all_slots" (official: mean over classes 0..max sampled id, empty ones 0) or "present".
    cfg.MODEL.CAC.CLASS_MEAN = "all_slots"
    # Embedding channels of the projection head.
    cfg.MODEL.CAC.PROJ_CHANNELS = 256
    # Kernel of the weight branch's first conv (the head's kernel_size: 1 in the HRNet configs).
    cfg.MODEL.CAC.WEIGHT_KERNEL_SIZE = 1


def add_ocr_config(cfg):
    """Add ``MODEL.OCR.*`` (``HRNetOCRHead``)."""
    cfg.MODEL.OCR = CN()
    # Channels of stage 2's pixel features and of the object-context attention's keys.
    cfg.MODEL.OCR.CHANNELS = 512
    cfg.MODEL.OCR.KEY_CHANNELS = 256
    # Weight of the stage-1 (FCN) loss "loss_sem_seg_stage1".
    cfg.MODEL.OCR.STAGE1_LOSS_WEIGHT = 0.4


# The Cityscapes class weights of the official CAC configs (``class_weight`` of the decode head's
# CrossEntropyLoss), train ids 0..18; for MODEL.SEM_SEG_LOSS.<CE or OHEM>.CLASS_WEIGHTS.
CITYSCAPES_CLASS_WEIGHTS = [
    0.8373, 0.9180, 0.8660, 1.0345, 1.0166, 0.9969, 0.9754, 1.0489, 0.8786, 1.0023,
    0.9539, 0.9843, 1.1116, 0.9037, 1.0865, 1.0955, 1.0865, 1.1529, 1.0507,
]  # fmt: skip
