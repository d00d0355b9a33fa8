"""Read a weights file without running code from it, with errors that name the file.

``.pth`` (and pycls ``.pyth``) files go through ``torch.load(weights_only=True)``, which accepts
tensors, containers and plain values (plus numpy arrays, dtypes and scalars, allowed below);
``.pkl`` files (detectron2 model zoo) through :mod:`.safe_pickle`. A file that holds anything else
(a Python object that would run code when built) is refused before any of it is called.
"""

import os
import re

import numpy as np
import torch

from .safe_pickle import RefusedGlobalError, _reconstruct, load_restricted_pickle, scalar

__all__ = ["CheckpointLoadError", "load_checkpoint_file"]

EXPECTED = (
    "expected a checkpoint written by torch.save (.pth, e.g. a HardSeg/detectron2 model_*.pth) "
    "or a detectron2 model-zoo pickle (.pkl)"
)

# numpy objects that torch's weights-only unpickler may build: arrays, dtypes, scalars.
_NUMPY_SAFE_GLOBALS = [_reconstruct, scalar, np.ndarray, np.dtype] + sorted(
    {type(np.dtype(c)) for c in "?bBhHiIlLqQefdgFDG"}, key=lambda t: t.__name__
)


class CheckpointLoadError(RuntimeError):
    """A weights file is missing, empty, not a checkpoint, or holds objects that could run code."""


def _refused_global(error: Exception):
    """The ``module.name`` a weights-only / restricted unpickler refused, or None."""
    if isinstance(error, RefusedGlobalError):
        return str(error)
    m = re.search(r"GLOBAL ([\w.]+)", str(error))
    return m.group(1) if m else None


def load_checkpoint_file(path: str):
    """Load ``path`` (a local file) safely and return what it holds (normally a dict).

    Raises:
        CheckpointLoadError: the file does not exist, is empty, is not a torch/pickle file (e.g. a
            text file), is truncated, or holds a Python object other than tensors, containers,
            numbers, strings and numpy arrays. The message starts with the path.
    """
    if not os.path.isfile(path):
        raise CheckpointLoadError(f"{path}: no such file; {EXPECTED}.")
    size = os.path.getsize(path)
    if size == 0:
        raise CheckpointLoadError(f"{path}: the file is empty (0 bytes); {EXPECTED}.")
    try:
        if path.endswith(".pkl"):
            return load_restricted_pickle(path)
        with torch.serialization.safe_globals(_NUMPY_SAFE_GLOBALS):
            return torch.load(path, map_location=torch.device("cpu"), weights_only=True)
    except Exception as e:
        refused = _refused_global(e)
        if refused is not None:
            raise CheckpointLoadError(
                f"{path}: refused to load: it names the Python global {refused!r}, which could run "
                "code; weights files may only hold tensors / numpy arrays, containers, numbers and "
                "strings. Use a file from a trusted source, re-saved as a plain state dict."
            ) from e
        with open(path, "rb") as f:
            head = f.read(64)
        kind = "a text file" if _looks_like_text(head) else "not a readable checkpoint"
        raise CheckpointLoadError(
            f"{path}: cannot load ({size} bytes, {kind}; {type(e).__name__}: "
            f"{_first_line(e)}); {EXPECTED}. If it is a checkpoint, it may be truncated by an "
            "interrupted copy or save."
        ) from e


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c in "\r\n\t" for c in text)


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else ""
