"""Base keys: DeepLab's, plus HardSeg's data, head and visualisation keys."""

from detectron2.config import CfgNode as CN
from detectron2.projects.deeplab import add_deeplab_config


def add_base_config(cfg):
    """Add DeepLab's keys (HardSeg builds on them) and HardSeg's base keys."""
    add_deeplab_config(cfg)

    # ASPP image-level pooling. "global": average over the whole feature map (works for any
    # input size). "crop": detectron2 DeepLab's AvgPool2d with kernel = INPUT.CROP.SIZE / stride,
    # which requires test feature maps divisible by that kernel (fine for Cityscapes 1024x2048
    # with a 512x1024 crop, wrong for datasets with variable image sizes).
    cfg.MODEL.SEM_SEG_HEAD.ASPP_POOLING = "global"

    # Data mapper used by the training loader. "semantic": HardSeg's SemanticDatasetMapper, which
    # also checks every label map for values outside [0, NUM_CLASSES) and IGNORE_VALUE.
    cfg.INPUT.DATASET_MAPPER_NAME = "semantic"

    # Per-pixel training geometry (HardSegmentor). False: each batch is padded to its largest
    # image, rounded up to MODEL.RESNETS.SIZE_DIVISIBILITY, and inference inputs (slide windows
    # included) are padded the same way. True (mmseg's Pad, the official HL recipe): every
    # training image is padded to exactly INPUT.CROP.SIZE (absolute crop; images 0, labels the
    # ignore value), the logits are resized to the label size, and inference runs each image or
    # slide window unpadded, its logits resized to the window size with the head's
    # align_corners; with align_corners and 769 = 8*96+1 crops, label pixel j maps to stride-8
    # cell j/8 exactly (docs/methods/hl.md §8.1).
    cfg.INPUT.CROP.PAD_TO_SIZE = False

    # Fixed hardness maps (MODEL.HARDNESS.SOURCE "fixed"): directory of <image file stem>.npy
    # maps (float, H x W of the image, in [0, 1]) from tools/export_hardness_maps.py; "" = none.
    # Read in training by SemanticDatasetMapper, which transforms them like the image.
    cfg.INPUT.HARDNESS_MAP_DIR = ""

    # DPCE penalty maps (loss "dist_penalty_cross_entropy"), computed by the mapper: False = OpenCV's
    # 5x5 chamfer distance (about 10x faster than SciPy's exact transform; the penalty is within
    # 0.04 of the exact one), True = the exact Euclidean distance (within 1e-4 of SciPy's; about 4x
    # faster than SciPy). docs/methods/losses.md, tests/data/test_fast_distance.py.
    cfg.INPUT.DIST_PENALTY_EXACT = False

    # Visualisations written by tools/visualize_predictions.py (image | ground truth | prediction).
    cfg.TEST.VIS = CN()
    # How many images of each test dataset to draw.
    cfg.TEST.VIS.NUM_IMAGES = 8

    # Timeout of collectives (all-reduce, barrier, gathers) in multi-process runs, in minutes. A
    # rank that stops makes the others wait this long before they fail with an error naming this
    # key. 0: 10 minutes on CPU (gloo), detectron2's 30 with CUDA (NCCL). The process group is
    # created before the workers read the config, so the launcher reads this key from the config
    # file and the command-line overrides (hardseg/engine/launch.py).
    cfg.DIST_TIMEOUT_MINUTES = 0
