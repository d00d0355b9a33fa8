"""MSCAN / SegNeXt checkpoints -> HardSeg (``MSCAN`` + ``LightHamHead``).

HardSeg's MSCAN keeps the official module names (Visual-Attention-Network/SegNeXt,
``mmseg/models/backbones/mscan.py``), so encoder keys map unchanged:

* ImageNet encoders (``mscan_t.pth`` ...): ``patch_embed{i}.*``, ``block{i}.{j}.*``,
  ``norm{i}.*`` get the ``backbone.`` prefix; a classifier ``head.*`` is dropped.
* Segmentation models (``segnext.tiny.512x512.ade.160k.pth`` ...): ``backbone.*`` kept;
  ``decode_head.{squeeze,align}.{conv,gn}.*``, ``decode_head.hamburger.ham_in.conv.*`` and
  ``decode_head.hamburger.ham_out.{conv,gn}.*`` -> ``sem_seg_head.*``; ``decode_head.conv_seg``
  -> ``sem_seg_head.predictor``.
"""

from typing import Dict

import torch

from .mapping import apply_rules

_BACKBONE = r"(patch_embed[1-4]|block[1-4]\.\d+|norm[1-4])\..+"


def convert_mscan(state_dict: Dict[str, torch.Tensor]):
    """Official MSCAN / SegNeXt weights -> (HardSeg state dict, dropped source keys).

    Raises:
        UnmatchedKeysError: naming every key that is not an official MSCAN / SegNeXt key.
    """
    if any(k.startswith("backbone.") for k in state_dict):
        rules = [
            (r"backbone\." + _BACKBONE, r"\g<0>"),
            (r"decode_head\.((squeeze|align)\.(conv|gn)\..+)", r"sem_seg_head.\1"),
            (r"decode_head\.(hamburger\.ham_in\.conv\.(weight|bias))", r"sem_seg_head.\1"),
            (r"decode_head\.(hamburger\.ham_out\.(conv|gn)\..+)", r"sem_seg_head.\1"),
            (r"decode_head\.conv_seg\.(weight|bias)", r"sem_seg_head.predictor.\1"),
        ]
        return apply_rules(state_dict, rules, "a SegNeXt segmentation checkpoint")
    rules = [(_BACKBONE, r"backbone.\g<0>"), (r"head\..+", None)]
    return apply_rules(state_dict, rules, "an official ImageNet MSCAN checkpoint")
