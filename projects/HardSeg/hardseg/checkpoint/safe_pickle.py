"""Read detectron2 model-zoo ``.pkl`` weights without running code from the file.

``pickle.load`` calls whatever global a pickle names (``os.system``, ``builtins.exec``, ...).
detectron2's model-zoo files (e.g. ``DeepLab/R-103.pkl``) only hold dicts of numpy arrays and a few
strings and numbers, so the unpickler below resolves only those globals -- builtin containers,
numpy arrays, dtypes and scalars -- and refuses every other one before anything is called.
"""

import _compat_pickle
import codecs
import collections
import pickle

import numpy as np

__all__ = ["RestrictedUnpickler", "load_restricted_pickle", "RefusedGlobalError"]

try:  # NumPy >= 2 keeps these in numpy._core; older pickles still name numpy.core
    from numpy._core.multiarray import _reconstruct, scalar
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core.multiarray import _reconstruct, scalar


def _latin1_encode(text, encoding="latin1", errors="strict"):
    # Protocol-2 pickles store ``bytes`` as _codecs.encode(str, "latin1"); no other codec is used.
    if codecs.lookup(encoding).name != "iso8859-1":
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r} is not allowed")
    return codecs.encode(text, "latin1", errors)


_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "complex"): complex,
    ("builtins", "bytearray"): bytearray,
    ("_codecs", "encode"): _latin1_encode,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}
for _module in ("numpy.core.multiarray", "numpy._core.multiarray"):
    _ALLOWED[(_module, "_reconstruct")] = _reconstruct
    _ALLOWED[(_module, "scalar")] = scalar


class RefusedGlobalError(pickle.UnpicklingError):
    """A pickle names a global outside the allowed set; nothing from it was called."""


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` whose ``find_class`` only returns the globals in ``_ALLOWED``."""

    def find_class(self, module, name):
        # Python 2 names (protocol < 3), mapped as pickle.Unpickler(fix_imports=True) does
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise RefusedGlobalError(f"{module}.{name}") from None


def load_restricted_pickle(path: str):
    """Unpickle ``path`` (latin1 strings, as detectron2 reads Python 2 model-zoo files).

    Raises:
        RefusedGlobalError: the file names a global that is not a builtin container or a numpy
            array / dtype / scalar; its message is the refused ``module.name``.
    """
    with open(path, "rb") as f:
        return RestrictedUnpickler(f, encoding="latin1").load()
