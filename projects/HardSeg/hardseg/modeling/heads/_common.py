"""Small helpers shared by HardSeg's own per-pixel heads (PSPNet, FCN)."""

from typing import Dict, Mapping

from torch import nn

from detectron2.layers import ShapeSpec


def as_shape_specs(input_shape: Mapping) -> Dict[str, ShapeSpec]:
    """``{name: ShapeSpec}`` from YAML, or ``{name: {"channels", "stride"}}`` from LazyConfig."""
    return {
        k: v if isinstance(v, ShapeSpec) else ShapeSpec(channels=v["channels"], stride=v["stride"])
        for k, v in input_shape.items()
    }


def init_predictor(conv: nn.Conv2d, std: float) -> None:
    """mmseg ``BaseDecodeHead`` init of the final 1x1 classifier: weight ~ N(0, std), bias 0."""
    nn.init.normal_(conv.weight, 0.0, std)
    if conv.bias is not None:
        nn.init.constant_(conv.bias, 0.0)
