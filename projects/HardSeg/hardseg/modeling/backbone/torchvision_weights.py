"""Key mappings from torchvision's ImageNet checkpoints (``torchvision.models.vgg16``,
``vgg16_bn``, ``resnet18/34/50/101``) to HardSeg's module names. They work on state dicts already
loaded (load files with ``hardseg.checkpoint``'s safe loader); keys they do not know raise."""

import re
from typing import Dict

import torch

from .vgg import VGG16_STAGES, vgg16_conv_names

_BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def vgg16_from_torchvision(
    state_dict: Dict[str, torch.Tensor],
    *,
    batch_norm: bool,
    prefix: str = "stages",
    fc: bool = True,
) -> Dict[str, torch.Tensor]:
    """torchvision VGG-16 (``batch_norm=False``) or VGG-16-BN keys -> :class:`VGG16Backbone` keys
    (``prefix`` "stages"; SegNetHead's encoder: "encoder").

    ``features.<i>`` (a Conv2d, or the BatchNorm2d after it) -> ``<prefix>.<stage>.<j>`` (or
    ``....norm``); with ``fc``, ``classifier.0`` (Linear 25088 -> 4096) -> ``fc6`` reshaped to a
    (4096, 512, 7, 7) conv and ``classifier.3`` -> ``fc7`` as (4096, 4096, 1, 1); without ``fc`` the
    classifier keys are dropped. ``classifier.6`` (the 1000-class layer) is always dropped.

    Raises:
        KeyError: a key that is not part of torchvision's VGG-16 layout.
    """
    per_conv = 3 if batch_norm else 2  # conv (+ bn) + relu
    index = {}  # torchvision features index -> (our conv name, is_norm)
    i = 0
    names = iter(vgg16_conv_names(prefix))
    for widths in VGG16_STAGES:
        for _ in widths:
            name = next(names)
            index[i] = (name, False)
            if batch_norm:
                index[i + 1] = (name, True)
            i += per_conv
        i += 1  # max-pool
    out = {}
    for key, value in state_dict.items():
        m = re.fullmatch(r"features\.(\d+)\.(\w+)", key)
        if m and int(m.group(1)) in index:
            name, is_norm = index[int(m.group(1))]
            out[f"{name}.norm.{m.group(2)}" if is_norm else f"{name}.{m.group(2)}"] = value
            continue
        m = re.fullmatch(r"classifier\.(\d)\.(weight|bias)", key)
        if m and m.group(1) in "036":
            layer = {"0": "fc6", "3": "fc7"}.get(m.group(1))
            if fc and layer is not None:
                if m.group(2) == "weight":
                    k = 7 if layer == "fc6" else 1
                    value = value.reshape(value.shape[0], -1, k, k)
                out[f"{layer}.{m.group(2)}"] = value
            continue
        raise KeyError(f"{key!r} is not a key of torchvision's VGG-16{'-BN' * batch_norm}.")
    return out


def resnet_from_torchvision(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """torchvision ResNet keys -> detectron2 ResNet keys (HardSeg's dilated / HDC ResNets with the
    basic stem): ``conv1``/``bn1`` -> ``stem.conv1``/``stem.conv1.norm``; ``layer<i>.<j>.conv<k>``
    and ``bn<k>`` -> ``res<i+1>.<j>.conv<k>`` and ``.norm``; ``downsample.0``/``.1`` ->
    ``shortcut``/``shortcut.norm``; ``fc.*`` dropped.

    Raises:
        KeyError: a key that is not part of torchvision's ResNet layout.
    """
    out = {}
    for key, value in state_dict.items():
        if key.startswith("fc."):
            continue
        m = re.fullmatch(r"(conv1|bn1)\.(\w+)", key)
        if m:
            norm = ".norm" if m.group(1) == "bn1" else ""
            out[f"stem.conv1{norm}.{m.group(2)}"] = value
            continue
        m = re.fullmatch(r"layer(\d)\.(\d+)\.(conv\d|bn\d|downsample\.[01])\.(\w+)", key)
        if not m:
            raise KeyError(f"{key!r} is not a key of torchvision's ResNet.")
        stage, block, layer, param = m.groups()
        if layer.startswith("conv"):
            name = layer
        elif layer.startswith("bn"):
            name = f"conv{layer[2:]}.norm"
        else:
            name = "shortcut" if layer.endswith("0") else "shortcut.norm"
        out[f"res{int(stage) + 1}.{block}.{name}.{param}"] = value
    return out
