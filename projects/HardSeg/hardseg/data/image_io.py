"""Reading images and label PNGs with errors that name the file.

PIL reports a damaged file without its path ("image file is truncated", "broken data stream",
"cannot identify image file <_io.BufferedReader>"), which leaves a user of a 100k-image dataset
with nothing to delete or re-download. The readers here re-raise such errors as
:class:`ImageReadError` naming the file, keeping the original error as its cause.
"""

from contextlib import contextmanager

import numpy as np
from PIL import Image

from detectron2.data import detection_utils as utils
from detectron2.utils.file_io import PathManager

__all__ = ["ImageReadError", "naming_file", "read_image", "read_label_array"]


class ImageReadError(OSError):
    """An image or label file exists but cannot be decoded (truncated, corrupt, not an image)."""


@contextmanager
def naming_file(file_name: str):
    """Re-raise a decoding error raised inside the block as :class:`ImageReadError` naming
    ``file_name``. A missing file stays a FileNotFoundError (which names it already)."""
    try:
        yield
    except (FileNotFoundError, ImageReadError):
        raise
    except (OSError, SyntaxError, ValueError) as e:  # PIL raises all three for damaged files
        raise ImageReadError(
            f"{file_name}: cannot decode the file ({type(e).__name__}: {e}). It is truncated or "
            "corrupt (e.g. an interrupted download or copy): replace it from the original "
            "release, or rerun the dataset's prepare script for a prepared label."
        ) from e


def read_image(file_name: str, format=None) -> np.ndarray:
    """``detectron2.data.detection_utils.read_image`` (H, W, C) with errors naming the file."""
    with naming_file(file_name):
        return utils.read_image(file_name, format=format)


def read_label_array(file_name: str) -> np.ndarray:
    """A label PNG as its stored values (a palette image gives its indices), errors naming the
    file. Returns the array as PIL gives it ((H, W) for single-channel files)."""
    with naming_file(file_name), PathManager.open(file_name, "rb") as f:
        return np.asarray(Image.open(f))
