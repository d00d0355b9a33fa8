"""STDC / STDC-Seg checkpoints -> HardSeg (``STDCNet`` + ``STDCHead``).

Sources (MichaelFan01/STDC-Seg, ``nets/stdcnet.py`` and ``models/model_stages.py``):

* ImageNet encoders (``STDCNet813M_73.91.tar``, ``STDCNet1446_76.47.tar``, a ``state_dict``):
  ``features.*`` -> ``backbone.features.*``; the stage views ``x2 .. x32`` (the same tensors
  again), ``conv_last``, ``fc``, ``bn`` and ``linear`` (ImageNet classifier) are dropped.
* Segmentation models (``BiSeNet``): ``cp.backbone.*`` as above; ``cp.{arm16, arm32,
  conv_head32, conv_head16, conv_avg}``, ``ffm``, ``conv_out16``, ``conv_out32`` and
  ``conv_out_sp8`` -> ``sem_seg_head.*``; ``conv_out.conv`` -> ``sem_seg_head.conv_out``,
  ``conv_out.conv_out`` -> ``sem_seg_head.predictor``; the unused detail heads
  ``conv_out_sp{2,4,16}`` are dropped. The head's InPlaceABN layers have no
  ``num_batches_tracked``; it is added as 0.
"""

from collections import OrderedDict
from typing import Dict

import torch

from .mapping import apply_rules

_DROP_BACKBONE = r"(x2|x4|x8|x16|x32|conv_last|fc|bn|linear)\..+"
_CP = r"(arm16|arm32|conv_head32|conv_head16|conv_avg)"


def _add_batch_counters(state_dict):
    out = OrderedDict()
    for k, v in state_dict.items():
        out[k] = v
        if k.endswith(".running_var"):
            counter = k[: -len("running_var")] + "num_batches_tracked"
            if counter not in state_dict:
                out[counter] = torch.tensor(0)
    return out


def convert_stdc(state_dict: Dict[str, torch.Tensor]):
    """Official STDC / STDC-Seg weights -> (HardSeg state dict, dropped source keys).

    Raises:
        UnmatchedKeysError: naming every key that is not an official STDC / STDC-Seg key.
    """
    if any(k.startswith("cp.") for k in state_dict):
        rules = [
            (r"cp\.backbone\.(features\..+)", r"backbone.\1"),
            (r"cp\.backbone\." + _DROP_BACKBONE, None),
            (r"cp\." + _CP + r"\.(.+)", r"sem_seg_head.\1.\2"),
            (r"(ffm|conv_out16|conv_out32|conv_out_sp8)\.(.+)", r"sem_seg_head.\1.\2"),
            (r"conv_out\.conv\.(.+)", r"sem_seg_head.conv_out.\1"),
            (r"conv_out\.conv_out\.weight", r"sem_seg_head.predictor.weight"),
            (r"conv_out_sp(2|4|16)\..+", None),
        ]
        source = "an STDC-Seg (BiSeNet) segmentation checkpoint"
    else:
        rules = [(r"features\..+", r"backbone.\g<0>"), (_DROP_BACKBONE, None)]
        source = "an official ImageNet STDCNet checkpoint"
    out, dropped = apply_rules(state_dict, rules, source)
    return _add_batch_counters(out), dropped
