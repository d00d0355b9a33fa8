from .hard_segmentor import HardSegmentor
from .hard_mask_former import HardMaskFormer
from .u2pl import U2PL
