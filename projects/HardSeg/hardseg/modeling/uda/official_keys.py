"""Checkpoint keys of the official HIAST DeepLab-v2 (bupt-ai-cz/HIAST @ f2f357a,
``code/sseg/models/modules/seg_models/deeplab_v2.py``: ``backbone`` = torchvision ResNet-101,
``aspp.conv2d_list.{0..3}``, the unused ``representation`` head) -> a HardSeg HardSegmentor with
ASPPV2Head (docs/methods/hiast.md §8)."""

import re
from typing import Dict

import torch

from ..backbone.torchvision_keys import torchvision_resnet_key

__all__ = ["unwrap_state_dict", "convert_official_deeplab_v2"]

_ASPP = re.compile(r"^aspp\.conv2d_list\.(\d)\.(weight|bias)$")


def unwrap_state_dict(obj) -> Dict[str, torch.Tensor]:
    """The tensors of a loaded checkpoint: the dict itself, or the one under "model",
    "state_dict" or "model_state_dict"; a DDP "module." prefix is removed."""
    for key in ("model", "state_dict", "model_state_dict"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not all(torch.is_tensor(v) for v in obj.values()):
        raise ValueError("the checkpoint holds no state dict of tensors")
    return {k[len("module.") :] if k.startswith("module.") else k: v for k, v in obj.items()}


def convert_official_deeplab_v2(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Official keys -> HardSeg keys: ``backbone.<torchvision key>`` -> ``backbone.<HardSeg
    ResNet key>``; ``aspp.conv2d_list.i.*`` -> ``sem_seg_head.branches.i.*``;
    ``representation.*`` dropped (never used by the official forward). Any other key is an
    error naming it."""
    out = {}
    for key, value in state_dict.items():
        if key.startswith("representation."):
            continue
        m = _ASPP.match(key)
        if m:
            out[f"sem_seg_head.branches.{m.group(1)}.{m.group(2)}"] = value
        elif key.startswith("backbone."):
            new = torchvision_resnet_key(key[len("backbone.") :])
            if new is not None:
                out["backbone." + new] = value
        else:
            raise ValueError(f"unexpected key {key!r} in an official HIAST DeepLab-v2 checkpoint")
    return out
