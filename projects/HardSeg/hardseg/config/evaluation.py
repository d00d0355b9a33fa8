"""Evaluation keys beyond detectron2's."""


def add_evaluation_config(cfg):
    """Add ``TEST.DIFFICULTY_BINS`` and ``TEST.SAVE_PREDICTIONS_JSON``."""
    # Extra evaluator (hardseg/evaluation/difficulty.py): IoU/accuracy binned by each pixel's
    # distance (px) to the nearest ground-truth class boundary, to see where HL helps. Off when
    # empty; otherwise increasing bin edges starting at 0, e.g. [0, 2, 4, 8, 16, 32].
    cfg.TEST.DIFFICULTY_BINS = []
    # Also write sem_seg_predictions.json (COCO-stuff RLE of every class of every image, as
    # detectron2's SemSegEvaluator) to the inference folder. Off: it makes evaluation ~2x slower.
    cfg.TEST.SAVE_PREDICTIONS_JSON = False
