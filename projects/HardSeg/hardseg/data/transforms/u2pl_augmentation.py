"""The weak augmentation of the official U2PL data pipeline as detectron2 augmentations.

Official code: Haochen-Wang409/U2PL @ab3d2be, ``u2pl/dataset/augmentation.py`` (``RandResize``,
``Crop``); docs/methods/u2pl.md §6 and §13. ``SplitRandomScale`` draws the scale factor the way
``RandResize`` does; ``CenterPadToSize`` pads the way ``Crop`` does before its random crop.
"""

import random
from typing import Tuple

from fvcore.transforms.transform import NoOpTransform, PadTransform
from PIL import Image

from detectron2.data import transforms as T

__all__ = ["SplitRandomScale", "CenterPadToSize"]


class SplitRandomScale(T.Augmentation):
    """Resize by a factor s: with probability 1/2, s ~ U[lo, 1], else s ~ U[1, hi]; the new size
    is ``(int(h * s), int(w * s))`` (image bilinear, label nearest).

    The official pipeline draws with Python's ``random``; so does this (seeded per sample by
    HardSeg's resumable loader like every other augmentation).
    """

    def __init__(self, scale_range: Tuple[float, float] = (0.5, 2.0)):
        super().__init__()
        lo, hi = scale_range
        if not 0 < lo <= 1 <= hi:
            raise ValueError(
                f"INPUT.RANDOM_SCALE.RANGE={tuple(scale_range)}: need 0 < lo <= 1 <= hi."
            )
        self.lo, self.hi = float(lo), float(hi)

    def draw_scale(self) -> float:
        if random.random() < 0.5:
            return self.lo + (1.0 - self.lo) * random.random()
        return 1.0 + (self.hi - 1.0) * random.random()

    def get_transform(self, image):
        h, w = image.shape[:2]
        s = self.draw_scale()
        return T.ResizeTransform(h, w, int(h * s), int(w * s), Image.BILINEAR)


class CenterPadToSize(T.Augmentation):
    """Pad an image smaller than ``size`` (h, w) to it, centred: ``pad // 2`` before and the rest
    after, the image with ``pad_value`` and the label with ``label_pad_value`` (the official
    ``Crop`` pads labels with 0, not the ignore value)."""

    def __init__(self, size: Tuple[int, int], pad_value: float = 0, label_pad_value: int = 0):
        super().__init__()
        self.size = (int(size[0]), int(size[1]))
        self.pad_value = pad_value
        self.label_pad_value = int(label_pad_value)

    def get_transform(self, image):
        h, w = image.shape[:2]
        pad_h, pad_w = max(self.size[0] - h, 0), max(self.size[1] - w, 0)
        if pad_h == 0 and pad_w == 0:
            return NoOpTransform()
        top, left = pad_h // 2, pad_w // 2
        return PadTransform(
            left,
            top,
            pad_w - left,
            pad_h - top,
            orig_w=w,
            orig_h=h,
            pad_value=self.pad_value,
            seg_pad_value=self.label_pad_value,
        )
