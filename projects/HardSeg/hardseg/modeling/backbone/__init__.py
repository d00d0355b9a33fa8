"""Backbones. Importing this package registers them in detectron2's BACKBONE_REGISTRY."""

from .resnet_dilated import DilatedBasicBlock, build_resnet_dilated_backbone  # noqa: F401
