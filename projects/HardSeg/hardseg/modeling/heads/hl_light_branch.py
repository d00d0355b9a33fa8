"""The light HL branch (``MODEL.HARDNESS.BRANCH "light"``): a small network on the detached
backbone features instead of a full copy of the decode head.

The official HL branch is a second decode head with one output (``"copy"``, the default; see
docs/methods/hl.md). On R101 models that copy costs about a quarter of the training forward pass;
this branch projects each input feature to a few channels with a 1x1 conv at its own resolution,
upsamples them to the finest one, sums them and predicts the hardness logit after one 3x3 conv.
Inference never runs an HL branch, so the inference graph is the plain model's either way.
"""

from typing import Dict, Sequence

import torch
from detectron2.layers import Conv2d, ShapeSpec, get_norm
from torch import nn
from torch.nn import functional as F

from ..shape_spec import as_shape_specs

__all__ = ["LightHardnessBranch"]


class LightHardnessBranch(nn.Module):
    """``layers(features)`` -> HL logits (N, 1, h, w) at the stride of the finest input feature.

    For each feature f in ``in_features``: ``relu(norm(conv1x1(f)))`` to ``channels`` channels
    at f's resolution, bilinearly upsampled to the finest feature's size; the sum goes through
    ``relu(norm(conv3x3))`` and the 1x1 ``predictor`` (1 output channel).
    """

    def __init__(
        self,
        input_shape: Dict[str, ShapeSpec],
        in_features: Sequence[str],
        channels: int = 64,
        norm: str = "BN",
    ):
        """
        Args:
            input_shape: backbone output shapes, ``name -> ShapeSpec`` (or a mapping with
                ``channels`` and ``stride``, as LazyConfig files write them).
            in_features: the features read (the decode head's ``IN_FEATURES``).
            channels: width of the branch (``MODEL.HARDNESS.LIGHT_CHANNELS``).
            norm: a detectron2 norm name ("BN", "SyncBN", "GN", "" ...).
        """
        super().__init__()
        input_shape = as_shape_specs(input_shape)
        missing = [f for f in in_features if f not in input_shape]
        if not in_features or missing:
            raise ValueError(
                f"LightHardnessBranch: in_features {list(in_features)} must be backbone outputs "
                f"{sorted(input_shape)}."
            )
        if channels < 1:
            raise ValueError(f"MODEL.HARDNESS.LIGHT_CHANNELS must be >= 1, got {channels}.")
        self.in_features = list(in_features)
        self.finest = min(self.in_features, key=lambda f: input_shape[f].stride)

        def block(cin, k):
            return Conv2d(
                cin,
                channels,
                k,
                padding=k // 2,
                bias=not norm,
                norm=get_norm(norm, channels),
                activation=F.relu,
            )

        self.proj = nn.ModuleDict({f: block(input_shape[f].channels, 1) for f in in_features})
        self.fuse = block(channels, 3)
        self.predictor = nn.Conv2d(channels, 1, 1)

    def layers(self, features: Dict[str, torch.Tensor]) -> torch.Tensor:
        """``features``: ``name -> (N, C_f, H/s_f, W/s_f)`` -> HL logits (N, 1, H/s, W/s)."""
        size = features[self.finest].shape[-2:]
        x = None
        for f in self.in_features:
            y = self.proj[f](features[f])
            if y.shape[-2:] != size:
                y = F.interpolate(y, size=size, mode="bilinear", align_corners=False)
            x = y if x is None else x + y
        return self.predictor(self.fuse(x))
