"""RegSeg checkpoints -> HardSeg (``RegSegBody`` + ``RegSegHead``).

RolandGao/RegSeg saves the whole ``RegSeg("exp48_decoder26", ...)`` (``model.py``, ``blocks.py``):
``stem.*`` and ``body.stage{4,8,16}.*`` -> ``backbone.*`` (same block names), ``decoder.*`` ->
``sem_seg_head.*`` with ``decoder.classifier`` -> ``sem_seg_head.predictor``.
"""

from typing import Dict

import torch

from .mapping import apply_rules


def convert_regseg(state_dict: Dict[str, torch.Tensor]):
    """Official RegSeg exp48_decoder26 weights -> (HardSeg state dict, dropped source keys).

    Raises:
        UnmatchedKeysError: naming every key that is not an official RegSeg key.
    """
    rules = [
        (r"stem\.(conv|bn)\..+", r"backbone.\g<0>"),
        (r"body\.((stage4|stage8|stage16)\..+)", r"backbone.\1"),
        (r"decoder\.classifier\.(weight|bias)", r"sem_seg_head.predictor.\1"),
        (r"decoder\.((head4|head8|head16|conv4|conv8)\.(conv|bn)\..+)", r"sem_seg_head.\1"),
    ]
    return apply_rules(state_dict, rules, "a RegSeg exp48_decoder26 checkpoint")
