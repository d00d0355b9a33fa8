"""HardSeg: semantic-segmentation research toolkit on Detectron2.

Importing the package registers its datasets (``hardseg.data``) and models (``hardseg.modeling``).
"""

from . import data, modeling  # noqa: F401  (registers datasets and models)
from .config import add_hardseg_config

__version__ = "0.1.0"
