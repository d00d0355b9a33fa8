"""The identity backbone: hands the normalised image to a head that holds a whole network."""

from typing import Dict

import torch

from detectron2.layers import ShapeSpec
from detectron2.modeling import BACKBONE_REGISTRY, Backbone


class IdentityBackbone(Backbone):
    """Returns ``{"image": x}`` (stride 1, the input's channels). Encoder-decoders that pass
    max-pool indices from encoder to decoder (SegNet, ENet) live entirely in their head; this
    backbone only tells the meta-architecture how much to pad (``size_divisibility``: the
    network's total downsampling, so every pooling sees an even size)."""

    def __init__(self, in_channels: int = 3, size_divisibility: int = 32):
        super().__init__()
        if size_divisibility < 1:
            raise ValueError(
                f"MODEL.IDENTITY_BACKBONE.SIZE_DIVISIBILITY must be >= 1, got {size_divisibility}."
            )
        self._channels = in_channels
        self._size_divisibility = size_divisibility

    @property
    def size_divisibility(self) -> int:
        return self._size_divisibility

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        """(N, C, H, W) -> {"image": the same tensor}."""
        return {"image": x}

    def output_shape(self) -> Dict[str, ShapeSpec]:
        return {"image": ShapeSpec(channels=self._channels, stride=1)}


@BACKBONE_REGISTRY.register()
def build_identity_backbone(cfg, input_shape):
    """:class:`IdentityBackbone` with ``MODEL.IDENTITY_BACKBONE.SIZE_DIVISIBILITY``."""
    return IdentityBackbone(
        in_channels=input_shape.channels if input_shape is not None else 3,
        size_divisibility=cfg.MODEL.IDENTITY_BACKBONE.SIZE_DIVISIBILITY,
    )
