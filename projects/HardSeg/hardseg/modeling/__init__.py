"""Models. Importing this package registers every backbone, head and meta-architecture."""

from . import backbone, heads, losses, meta_arch  # noqa: F401  (registers)
from . import mask_former, pixel_decoder, transformer_decoder  # noqa: F401  (registers)
from .heads import (
    DeepLabV3PlusPerPixelHead,
    DepthwiseSeparableASPPHead,
    FCNHead,
    HardnessHead,
    PSPNetHead,
)
from .meta_arch import HardSegmentor
