"""Multi-scale deformable attention: a pure-PyTorch path that always imports and runs (CPU or
GPU), and an optional compiled kernel used only when present (see :mod:`.kernel`)."""

from .kernel import kernel_available, ms_deform_attn
from .module import MSDeformAttn
from .reference import ms_deform_attn_reference
