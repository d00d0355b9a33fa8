"""Strong batch mixing of unlabeled images with their pseudo-labels: CutMix, CutOut, ClassMix.

See docs/methods/u2pl.md §6 "Strong mix" (official ``generate_unsup_data`` and
``generate_cutout_mask`` in ``u2pl/dataset/augmentation.py``; ReCo-style). Pure tensor functions,
applied by the meta-architecture after normalisation (so CutOut's zeros are the pixel mean, as in
the official code, which mixes normalised tensors). Sample i is mixed with partner (i + 1) mod B.
Random draws use ``generator`` (the global torch RNG by default, which the checkpoint's RNG state
restores on resume).
"""

from typing import Optional, Tuple

import torch

__all__ = ["MIX_MODES", "cutmix_box", "box_mask", "class_mix_mask", "mix_unlabeled_batch"]

MIX_MODES = ("cutmix", "cutout", "classmix", "none")


def _randint(low: int, high: int, generator=None) -> int:
    """Uniform integer in [low, high) (like ``numpy.random.randint``)."""
    return int(torch.randint(low, high, (1,), generator=generator))


def cutmix_box(height: int, width: int, ratio: float = 2.0, generator=None):
    """The official CutMix/CutOut rectangle ``(y0, y1, x0, x1)`` (rows y0..y1-1, columns x0..x1-1):
    area about H*W/ratio, width w uniform in {floor(W/ratio)+1, ..., W-1}, h = round(H*W/ratio / w),
    position uniform with the box inside the image."""
    area = height * width / ratio
    w = _randint(int(width / ratio) + 1, width, generator)
    h = int(round(area / w))
    h = min(h, height)
    x0 = _randint(0, width - w + 1, generator)
    y0 = _randint(0, height - h + 1, generator)
    return y0, y0 + h, x0, x0 + w


def box_mask(height: int, width: int, box, device=None) -> torch.Tensor:
    """(H, W) bool: True outside ``box`` (the sample keeps its own pixels), False inside."""
    y0, y1, x0, x1 = box
    mask = torch.ones(height, width, dtype=torch.bool, device=device)
    mask[y0:y1, x0:x1] = False
    return mask


def class_mix_mask(pseudo_label: torch.Tensor, ignore_value=255, generator=None) -> torch.Tensor:
    """(H, W) bool: the pixels of floor(n/2) of the n classes present in ``pseudo_label`` (random
    permutation), official ``generate_class_mask``. The ignore value counts as a class when
    present, as ``torch.unique`` sees it in the official code."""
    classes = torch.unique(pseudo_label)
    perm = torch.randperm(len(classes), generator=generator).to(classes.device)
    chosen = classes[perm][: len(classes) // 2]
    return (pseudo_label.unsqueeze(-1) == chosen).any(-1)


def mix_unlabeled_batch(
    images: torch.Tensor,
    pseudo_labels: torch.Tensor,
    confidence: Optional[torch.Tensor],
    mode: str = "cutmix",
    ratio: float = 2.0,
    ignore_value: int = 255,
    generator=None,
) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
    """Mix every sample of an unlabeled batch (no grad is needed: all inputs are data).

    Args:
        images: (B, C, H, W) normalised images.
        pseudo_labels: (B, H, W) int64 teacher pseudo-labels.
        confidence: (B, H, W) teacher max-probability (or None); mixed like the labels.
        mode: "cutmix": partner (i+1) mod B fills a box of area H*W/ratio; "cutout": the box is
            zeroed in the image, set to ``ignore_value`` in the labels and 0 in the confidence;
            "classmix": sample i keeps the pixels of half its pseudo-classes, the partner fills
            the rest; "none": unchanged.

    Returns the mixed ``(images, pseudo_labels, confidence)``, new tensors.
    """
    if mode not in MIX_MODES:
        raise ValueError(f"MODEL.SEMISUP.MIX={mode!r}; expected one of {MIX_MODES}.")
    if mode == "none":
        return images, pseudo_labels, confidence
    b, _, h, w = images.shape
    keep = []
    for i in range(b):
        if mode == "classmix":
            keep.append(class_mix_mask(pseudo_labels[i], ignore_value, generator))
        else:
            keep.append(box_mask(h, w, cutmix_box(h, w, ratio, generator), images.device))
    keep = torch.stack(keep)  # (B, H, W) bool
    if mode == "cutout":
        out_images = images * keep[:, None].to(images.dtype)
        out_labels = torch.where(keep, pseudo_labels, torch.full_like(pseudo_labels, ignore_value))
        out_conf = None if confidence is None else confidence * keep.to(confidence.dtype)
        return out_images, out_labels, out_conf
    partner = torch.roll(torch.arange(b, device=images.device), -1)  # (i + 1) mod B
    out_images = torch.where(keep[:, None], images, images[partner])
    out_labels = torch.where(keep, pseudo_labels, pseudo_labels[partner])
    out_conf = None if confidence is None else torch.where(keep, confidence, confidence[partner])
    return out_images, out_labels, out_conf
