"""Backbone output shapes as the YAML and LazyConfig front ends give them."""

from typing import Dict, Mapping

from detectron2.layers import ShapeSpec

__all__ = ["as_shape_specs"]


def as_shape_specs(input_shape: Mapping) -> Dict[str, ShapeSpec]:
    """``{name: ShapeSpec}`` from ShapeSpecs (YAML) or from mappings with ``channels`` and
    ``stride`` (the form LazyConfig files write)."""
    return {
        k: v if isinstance(v, ShapeSpec) else ShapeSpec(channels=v["channels"], stride=v["stride"])
        for k, v in input_shape.items()
    }
