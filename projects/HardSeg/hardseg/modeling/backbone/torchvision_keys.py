"""torchvision ResNet checkpoint keys -> HardSeg's dilated ResNet (detectron2 layout), so
ImageNet weights such as ``resnet101-5d3b4d8f.pth`` initialise DeepLab-v2
(docs/methods/hiast.md §8). The classifier ``fc.*`` is dropped."""

import re
from typing import Dict

import torch

__all__ = ["torchvision_resnet_key", "convert_torchvision_resnet"]

_BLOCK = re.compile(r"^layer(\d)\.(\d+)\.(.+)$")
_NORM_PARTS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def torchvision_resnet_key(key: str):
    """One torchvision key -> its HardSeg key, or None for ``fc.*``.

    conv1 -> stem.conv1, bn1 -> stem.conv1.norm; layerL.B.convK -> res{L+1}.B.convK,
    layerL.B.bnK -> res{L+1}.B.convK.norm; layerL.B.downsample.0 / .1 -> res{L+1}.B.shortcut /
    shortcut.norm. Raises ValueError on any other key."""
    if key.startswith("fc."):
        return None
    if key.startswith("conv1."):
        return "stem." + key
    if key.startswith("bn1."):
        return "stem.conv1.norm." + key[len("bn1.") :]
    m = _BLOCK.match(key)
    if m:
        stage, block, rest = int(m.group(1)) + 1, m.group(2), m.group(3)
        prefix = f"res{stage}.{block}."
        conv = re.match(r"^conv(\d)\.weight$", rest)
        if conv:
            return prefix + rest
        bn = re.match(r"^bn(\d)\.(\w+)$", rest)
        if bn and bn.group(2) in _NORM_PARTS:
            return f"{prefix}conv{bn.group(1)}.norm.{bn.group(2)}"
        ds = re.match(r"^downsample\.([01])\.(\w+)$", rest)
        if ds:
            return prefix + ("shortcut." if ds.group(1) == "0" else "shortcut.norm.") + ds.group(2)
    raise ValueError(f"convert_torchvision_resnet: unexpected torchvision ResNet key {key!r}")


def convert_torchvision_resnet(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """A torchvision ResNet state dict -> backbone keys (prefix them with ``backbone.`` for a
    whole model)."""
    out = {}
    for key, value in state_dict.items():
        new = torchvision_resnet_key(key)
        if new is not None:
            out[new] = value
    return out
