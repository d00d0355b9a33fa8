"""Models. Importing this package registers every backbone, head and meta-architecture."""

from . import backbone, heads, losses, meta_arch  # noqa: F401  (registers)
from .heads import DeepLabV3PlusPerPixelHead
from .meta_arch import HardSegmentor
