"""Backbones. Importing this package registers them in detectron2's BACKBONE_REGISTRY."""

from .resnet_dilated import (  # noqa: F401
    DilatedBasicBlock,
    DilatedResNet,
    build_resnet_dilated_backbone,
    make_resnet_dilated,
)
from .hrnet import HRNet, build_hrnet_backbone  # noqa: F401
