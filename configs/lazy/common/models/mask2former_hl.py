# mask2former.py with HL on the mask losses: an HL branch on the detached pixel-decoder features
# (hardseg/modeling/mask_former/hardness_branch.py); eps 0.1, lambda_HL 0.01 in the criterion.
from detectron2.config import LazyCall as L

from hardseg.modeling.mask_former import MaskHardnessBranch

from .mask2former import model

model.hardness_branch = L(MaskHardnessBranch)(
    in_channels="${..sem_seg_head.pixel_decoder.mask_dim}",
    conv_dim="${..sem_seg_head.pixel_decoder.conv_dim}",
    norm="GN",
    init_std=0.01,
)
