"""Evaluation keys beyond detectron2's."""


def add_evaluation_config(cfg):
    """Add ``TEST.DIFFICULTY_BINS``."""
    # Extra evaluator (hardseg/evaluation/difficulty.py): IoU/accuracy binned by each pixel's
    # distance (px) to the nearest ground-truth class boundary, to see where HL helps. Off when
    # empty; otherwise increasing bin edges starting at 0, e.g. [0, 2, 4, 8, 16, 32].
    cfg.TEST.DIFFICULTY_BINS = []
