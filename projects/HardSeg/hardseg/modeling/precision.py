"""float32 islands under mixed precision (``SOLVER.AMP``, hardseg/engine/amp.py).

Under ``torch.autocast`` matrix products and convolutions run in bfloat16/float16. Code whose
numerics need float32 (softmax/entropy percentiles, normalisers, N x N similarity softmaxes, the
losses) is decorated with :func:`float32_island`: autocast is switched off on the device of its
tensor arguments, and their bfloat16/float16 tensors (also inside dicts, lists and tuples) are
cast to float32. Outside autocast it is a no-op, so fp32 training is unchanged.
"""

import functools

import torch

__all__ = ["float32_island", "float32_region", "to_float32", "autocast_active"]

_LOW = (torch.bfloat16, torch.float16)


def to_float32(obj):
    """``obj`` with every bfloat16/float16 tensor (nested in dicts, lists, tuples) as float32."""
    if isinstance(obj, torch.Tensor):
        return obj.float() if obj.dtype in _LOW else obj
    if isinstance(obj, dict):
        return {k: to_float32(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)) and not hasattr(obj, "_fields"):
        return type(obj)(to_float32(v) for v in obj)
    return obj


def _first_tensor(obj):
    if isinstance(obj, torch.Tensor):
        return obj
    items = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, (list, tuple)) else ()
    for v in items:
        t = _first_tensor(v)
        if t is not None:
            return t
    return None


def autocast_active(device_type: str) -> bool:
    """Whether autocast is on for ``device_type`` ("cpu", "cuda", ...)."""
    return torch.is_autocast_enabled(device_type)


def float32_island(fn):
    """Decorator: run ``fn`` in float32 when autocast is active (see the module docstring)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        t = _first_tensor([a for a in args if not isinstance(a, torch.nn.Module)])
        if t is None:
            t = _first_tensor(kwargs)
        if t is None or not autocast_active(t.device.type):
            return fn(*args, **kwargs)
        with torch.autocast(t.device.type, enabled=False):
            return fn(*to_float32(args), **to_float32(kwargs))

    return wrapper


def float32_region(device_type: str):
    """A ``with`` block with autocast off on ``device_type`` (pass float32 tensors into it)."""
    return torch.autocast(device_type, enabled=False)
