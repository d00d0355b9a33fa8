"""Whole-image, sliding-window and multi-scale + flip inference around any logits function.

Everything here works on a callable ``logits_fn(images) -> logits``: ``images`` (N, 3, h, w)
normalised, ``logits`` (N, K, h, w) at the same size. A meta-architecture wraps its own forward
pass as such a callable (see :meth:`HardSegmentor.logits_fn`); mask-classification models can pass
their per-class score maps (the averages below are then averages of scores).

Config (``hardseg/config/inference.py``): ``TEST.MODE`` ("whole" | "slide"),
``TEST.SLIDE.CROP_SIZE`` / ``STRIDE``, ``TEST.AUG.ENABLED`` / ``RATIOS`` / ``FLIP``.
"""

import math
from dataclasses import dataclass
from typing import Callable, Sequence, Tuple

import torch
from torch.nn import functional as F

__all__ = [
    "InferenceConfig",
    "whole_inference",
    "slide_inference",
    "slide_windows",
    "multi_scale_inference",
    "pad_to_divisible",
    "INFERENCE_MODES",
]

INFERENCE_MODES = ("whole", "slide")

LogitsFn = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class InferenceConfig:
    """How to run inference. ``ratios``/``flip`` apply only when ``aug`` is True."""

    mode: str = "whole"
    crop_size: Tuple[int, int] = (512, 1024)
    stride: Tuple[int, int] = (341, 682)
    aug: bool = False
    ratios: Tuple[float, ...] = (1.0,)
    flip: bool = False

    def __post_init__(self):
        if self.mode not in INFERENCE_MODES:
            raise ValueError(f"TEST.MODE={self.mode!r}; expected one of {INFERENCE_MODES}.")
        if self.mode == "slide":
            if len(self.crop_size) != 2 or min(self.crop_size) <= 0:
                raise ValueError(f"TEST.SLIDE.CROP_SIZE={self.crop_size}; expected (h, w) > 0.")
            if len(self.stride) != 2 or min(self.stride) <= 0:
                raise ValueError(f"TEST.SLIDE.STRIDE={self.stride}; expected (h, w) > 0.")
        if self.aug and (len(self.ratios) == 0 or min(self.ratios) <= 0):
            raise ValueError(f"TEST.AUG.RATIOS={self.ratios}; expected positive ratios.")

    @classmethod
    def from_config(cls, cfg) -> "InferenceConfig":
        t = cfg.TEST
        return cls(
            mode=t.MODE,
            crop_size=tuple(int(x) for x in t.SLIDE.CROP_SIZE),
            stride=tuple(int(x) for x in t.SLIDE.STRIDE),
            aug=bool(t.AUG.ENABLED),
            ratios=tuple(float(r) for r in t.AUG.RATIOS),
            flip=bool(t.AUG.FLIP),
        )


def pad_to_divisible(logits_fn: LogitsFn, size_divisibility: int) -> LogitsFn:
    """Wrap a model's ``logits_fn`` so that it returns logits at exactly the input size.

    The input is zero-padded (bottom/right, as detectron2's ``ImageList`` pads normalised images)
    to a multiple of ``size_divisibility`` (no padding if <= 1); the output is cropped to the
    input size (as ``sem_seg_postprocess`` crops), and resized bilinearly to it if still smaller
    (a head whose output stride does not divide the input size)."""

    def fn(images):
        h, w = images.shape[-2:]
        if size_divisibility > 1:
            ph = int(math.ceil(h / size_divisibility) * size_divisibility)
            pw = int(math.ceil(w / size_divisibility) * size_divisibility)
            if (ph, pw) != (h, w):
                images = F.pad(images, (0, pw - w, 0, ph - h), value=0.0)
        logits = logits_fn(images)[..., :h, :w]
        if logits.shape[-2:] != (h, w):
            logits = F.interpolate(logits, size=(h, w), mode="bilinear", align_corners=False)
        return logits

    return fn


def whole_inference(logits_fn: LogitsFn, images: torch.Tensor) -> torch.Tensor:
    """One pass: (N, 3, H, W) -> (N, K, H, W)."""
    logits = logits_fn(images)
    if logits.shape[-2:] != images.shape[-2:]:
        raise ValueError(
            f"logits_fn returned logits of size {tuple(logits.shape[-2:])} for images of size "
            f"{tuple(images.shape[-2:])}; it must return logits at the input size."
        )
    return logits


def _starts(size: int, crop: int, stride: int):
    """Window starts along one axis: ``n = max(size - crop + stride - 1, 0) // stride + 1``
    windows at ``i * stride``; a window that would pass the border is shifted back so it ends
    there (and starts at >= 0; windows are smaller than ``crop`` only if the image is)."""
    n = max(size - crop + stride - 1, 0) // stride + 1
    out = []
    for i in range(n):
        end = min(i * stride + crop, size)
        out.append((max(end - crop, 0), end))
    return out


def slide_windows(height: int, width: int, crop_size, stride):
    """``[(y0, y1, x0, x1), ...]``: the windows :func:`slide_inference` evaluates, row-major."""
    return [
        (y0, y1, x0, x1)
        for y0, y1 in _starts(height, crop_size[0], stride[0])
        for x0, x1 in _starts(width, crop_size[1], stride[1])
    ]


def slide_inference(
    logits_fn: LogitsFn, images: torch.Tensor, crop_size: Sequence[int], stride: Sequence[int]
) -> torch.Tensor:
    """Sliding-window inference: run ``logits_fn`` on each window (one at a time, so peak memory
    is one window's forward pass plus the (N, K, H, W) accumulator), add the window logits into
    place, and divide by the number of windows covering each pixel (every pixel is covered).

    images (N, 3, H, W) -> logits (N, K, H, W).
    """
    n, _, h, w = images.shape
    total = None
    count = images.new_zeros((1, 1, h, w))
    for y0, y1, x0, x1 in slide_windows(h, w, crop_size, stride):
        window = whole_inference(logits_fn, images[:, :, y0:y1, x0:x1])
        if total is None:
            total = images.new_zeros((n, window.shape[1], h, w), dtype=window.dtype)
        total[:, :, y0:y1, x0:x1] += window
        count[:, :, y0:y1, x0:x1] += 1
    return total / count.to(total.dtype)


def _single_scale(logits_fn, images, config: InferenceConfig):
    if config.mode == "slide":
        return slide_inference(logits_fn, images, config.crop_size, config.stride)
    return whole_inference(logits_fn, images)


def multi_scale_inference(
    logits_fn: LogitsFn, images: torch.Tensor, config: InferenceConfig
) -> torch.Tensor:
    """Inference as ``config`` says: for each ratio r (``(1.0,)`` without aug) and each flip
    (none, plus horizontal with ``flip``), resize the images bilinearly to
    ``round(r*H) x round(r*W)``, run whole or sliding inference, undo the flip, resize the logits
    back to H x W (bilinear) and average them over all (ratio, flip) pairs.

    images (N, 3, H, W) normalised -> logits (N, K, H, W). Logits (not probabilities) are
    averaged, so the output stays a logit map.
    """
    h, w = (int(v) for v in images.shape[-2:])  # plain ints, also while tracing (fvcore FLOPs)
    ratios = config.ratios if config.aug else (1.0,)
    flips = (False, True) if (config.aug and config.flip) else (False,)
    total, n_runs = None, 0
    for r in ratios:
        size = (max(int(round(h * r)), 1), max(int(round(w * r)), 1))
        scaled = (
            images
            if size == (h, w)
            else F.interpolate(images, size=size, mode="bilinear", align_corners=False)
        )
        for flip in flips:
            x = scaled.flip(-1) if flip else scaled
            logits = _single_scale(logits_fn, x, config)
            if flip:
                logits = logits.flip(-1)
            if size != (h, w):
                logits = F.interpolate(logits, size=(h, w), mode="bilinear", align_corners=False)
            total = logits if total is None else total + logits
            n_runs += 1
    return total / n_runs
