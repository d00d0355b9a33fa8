"""Backbones. Importing this package registers them in detectron2's BACKBONE_REGISTRY."""

from .resnet_dilated import (  # noqa: F401
    DilatedBasicBlock,
    DilatedResNet,
    build_resnet_dilated_backbone,
    make_resnet_dilated,
)
from .mit import MIT_VARIANTS, MixVisionTransformer, build_mit_backbone  # noqa: F401
from .mscan import MSCAN, MSCAN_VARIANTS, build_mscan_backbone  # noqa: F401
from .stdc import STDC_VARIANTS, STDCNet, build_stdc_backbone  # noqa: F401
from .topformer import TOPFORMER_VARIANTS, TopFormer, build_topformer_backbone  # noqa: F401
from .regseg import RegSegBody, build_regseg_backbone  # noqa: F401
