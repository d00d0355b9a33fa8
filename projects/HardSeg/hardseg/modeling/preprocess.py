"""Model inputs from mapper dicts: normalised, padded images, padded targets and loss maps.

Every meta-architecture (HardSegmentor, U2PL, HardMaskFormer) and the hardness visualisation
prepare their images with :func:`normalize_and_pad`, so that a model sees the same tensors in
training, inference and analysis.
"""

from typing import Dict, List, Sequence, Tuple

import torch

from detectron2.structures import ImageList

from ..data.targets.distance import decode_loss_map

__all__ = ["normalize_and_pad", "pad_maps", "batch_loss_inputs", "batch_hardness_maps"]


def normalize_and_pad(
    images: Sequence[torch.Tensor],
    pixel_mean: torch.Tensor,
    pixel_std: torch.Tensor,
    size_divisibility: int = 0,
) -> ImageList:
    """``(image - pixel_mean) / pixel_std`` for each image (3, H_i, W_i) (uint8 or float, moved to
    ``pixel_mean``'s device), zero-padded on the bottom/right to one size, a multiple of
    ``size_divisibility`` (<= 0: the largest image's size), as detectron2's ``ImageList`` pads.

    Args:
        pixel_mean, pixel_std: (3, 1, 1).
    Returns:
        :class:`ImageList` with ``tensor`` (N, 3, H, W) and ``image_sizes`` [(H_i, W_i)].
    """
    device = pixel_mean.device
    images = [(x.to(device) - pixel_mean) / pixel_std for x in images]
    return ImageList.from_tensors(images, size_divisibility)


def pad_maps(maps: Sequence[torch.Tensor], size: Tuple[int, int], value) -> torch.Tensor:
    """Stack per-image maps (..., H_i, W_i) into (N, ..., H, W), padded on the bottom/right with
    ``value`` to ``size`` = (H, W) (each H_i <= H, W_i <= W); dtype and device of the first map."""
    first = maps[0]
    out = first.new_full((len(maps), *first.shape[:-2], *size), value)
    for i, m in enumerate(maps):
        out[i, ..., : m.shape[-2], : m.shape[-1]] = m
    return out


def batch_loss_inputs(
    batched_inputs: List[dict], names: Sequence[str], size: Tuple[int, int], device
) -> Dict[str, torch.Tensor]:
    """The per-sample loss maps ``names`` (e.g. ``signed_dist`` (K, H_i, W_i), ``dist_penalty``
    (H_i, W_i), stored compactly by the mapper and expanded on ``device`` by
    :func:`hardseg.data.targets.decode_loss_map`) of every input, as float32 (N, ..., H, W)
    padded with 0 to ``size``. A name missing from the inputs is left out (the head's loss names
    it)."""
    return {
        n: pad_maps([decode_loss_map(x[n], device) for x in batched_inputs], size, 0.0)
        for n in names
        if all(n in x for x in batched_inputs)
    }


def batch_hardness_maps(batched_inputs: List[dict], size: Tuple[int, int], device) -> torch.Tensor:
    """The fixed hardness maps (``MODEL.HARDNESS.SOURCE "fixed"``, docs/methods/hl.md §8.6):
    every input's ``hardness`` (H_i, W_i) from the mapper, as float32 (N, H, W) padded with 0 to
    ``size``.

    Raises:
        ValueError: an input has no ``hardness`` map (``INPUT.HARDNESS_MAP_DIR`` unset).
    """
    if any("hardness" not in x for x in batched_inputs):
        raise ValueError(
            "MODEL.HARDNESS.SOURCE is 'fixed' but a training input has no 'hardness' map; set "
            "INPUT.HARDNESS_MAP_DIR to the maps of tools/export_hardness_maps.py."
        )
    return pad_maps([x["hardness"].to(device, torch.float32) for x in batched_inputs], size, 0.0)
