"""Converters from the official releases' checkpoints of the efficient architectures to HardSeg
state dicts (``tools/convert_efficient_checkpoint.py`` is their command line)."""

from .mapping import UnmatchedKeysError, apply_rules
from .mit import convert_mit
from .mscan import convert_mscan
from .regseg import convert_regseg
from .stdc import convert_stdc
from .topformer import convert_topformer

__all__ = [
    "UnmatchedKeysError",
    "apply_rules",
    "convert_mit",
    "convert_mscan",
    "convert_regseg",
    "convert_stdc",
    "convert_topformer",
]
