from .hard_segmentor import HardSegmentor
