"""Inference keys: whole-image / sliding-window / multi-scale + flip inference, and the mIoU
convention of HardSeg's evaluator. The logic is in ``hardseg/modeling/inference.py``."""

from detectron2.config import CfgNode as CN


def add_inference_config(cfg):
    """Add ``TEST.MODE``, ``TEST.SLIDE.*``, ``TEST.AUG.RATIOS`` and ``TEST.MIOU_CONVENTION``;
    reuse detectron2's ``TEST.AUG.ENABLED`` and ``TEST.AUG.FLIP``."""
    # "whole": one forward pass on the whole (test-resized) image; "slide": sliding window.
    cfg.TEST.MODE = "whole"
    cfg.TEST.SLIDE = CN()
    # Window (h, w) and stride (h, w) in pixels of the image the model sees (after the test
    # resize and the TTA ratio). Logits are averaged where windows overlap; the last window of a
    # row/column is shifted back to end at the border. Defaults: mmseg's 512x1024 Cityscapes.
    cfg.TEST.SLIDE.CROP_SIZE = (512, 1024)
    cfg.TEST.SLIDE.STRIDE = (341, 682)
    # Multi-scale + flip test-time augmentation (detectron2's TEST.AUG.ENABLED switches it on,
    # TEST.AUG.FLIP adds horizontal flips; TEST.AUG.MIN_SIZES/MAX_SIZE are not used by HardSeg).
    # Resize ratios of the test image (mmseg's / CAC's 0.5-1.75); the logits of every ratio (and
    # flip) are resized back and averaged.
    cfg.TEST.AUG.RATIOS = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
    # mIoU over which classes (HardSeg's "sem_seg" evaluator): "cityscapes" (cityscapesscripts,
    # detectron2 v0.6, mmseg: every class with GT or prediction; predicted-but-absent counts 0) or
    # "gt_present" (detectron2 after 2022-07: only classes present in the GT).
    cfg.TEST.MIOU_CONVENTION = "cityscapes"
