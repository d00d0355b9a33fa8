"""Backbones. Importing this package registers them in detectron2's BACKBONE_REGISTRY."""

from .identity import IdentityBackbone, build_identity_backbone  # noqa: F401
from .resnet_dilated import (  # noqa: F401
    DilatedBasicBlock,
    DilatedResNet,
    build_resnet_dilated_backbone,
    make_resnet_dilated,
)
from .resnet_hdc import build_resnet_hdc_backbone, make_resnet_hdc  # noqa: F401
from .torchvision_weights import resnet_from_torchvision, vgg16_from_torchvision  # noqa: F401
from .unet import UNetEncoder, build_unet_encoder_backbone  # noqa: F401
from .vgg import VGG16Backbone, build_vgg16_backbone  # noqa: F401
from .hrnet import HRNet, build_hrnet_backbone  # noqa: F401
from .mit import MIT_VARIANTS, MixVisionTransformer, build_mit_backbone  # noqa: F401
from .mscan import MSCAN, MSCAN_VARIANTS, build_mscan_backbone  # noqa: F401
from .stdc import STDC_VARIANTS, STDCNet, build_stdc_backbone  # noqa: F401
from .topformer import TOPFORMER_VARIANTS, TopFormer, build_topformer_backbone  # noqa: F401
from .regseg import RegSegBody, build_regseg_backbone  # noqa: F401
