"""TopFormer checkpoints -> HardSeg (``TopFormer`` + ``SimpleSumHead``).

HardSeg's TopFormer keeps the official module names (hustvl/TopFormer,
``mmseg/models/backbones/topformer.py``):

* Segmentation models: ``backbone.{tpm,trans,SIM}.*`` kept; ``decode_head.linear_fuse.{conv,bn}``
  -> ``sem_seg_head.linear_fuse.*``; ``decode_head.conv_seg`` -> ``sem_seg_head.predictor``.
* ImageNet models (``topformer-T-224-66.2.pth`` ...; ``state_dict_ema``, ``state_dict`` or
  ``model``): ``tpm.*`` and ``trans.*`` -> ``backbone.*``; the classifier and any other key is
  dropped (the official code loads these files with ``strict=False`` too) and listed.
"""

from typing import Dict

import torch

from .mapping import apply_rules


def convert_topformer(state_dict: Dict[str, torch.Tensor]):
    """Official TopFormer weights -> (HardSeg state dict, dropped source keys).

    Raises:
        UnmatchedKeysError: (segmentation models) naming keys that are not official TopFormer keys.
    """
    if any(k.startswith("backbone.") for k in state_dict):
        rules = [
            (r"backbone\.((tpm|trans|SIM)\..+)", r"backbone.\1"),
            (r"decode_head\.(linear_fuse\.(conv|bn)\..+)", r"sem_seg_head.\1"),
            (r"decode_head\.conv_seg\.(weight|bias)", r"sem_seg_head.predictor.\1"),
        ]
        return apply_rules(state_dict, rules, "a TopFormer segmentation checkpoint")
    rules = [(r"(tpm|trans)\..+", r"backbone.\g<0>"), (r".+", None)]
    return apply_rules(state_dict, rules, "an official ImageNet TopFormer checkpoint")
