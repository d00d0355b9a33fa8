"""Hardness maps of a trained HL model, and image | ground truth | prediction | hardness panels."""

from typing import Dict, List

import numpy as np
import torch

from ..modeling.preprocess import normalize_and_pad
from .visualize import prediction_panel, save_panels, upscale


def _hardness_head(model):
    head = getattr(model, "sem_seg_head", None)
    if not hasattr(head, "hardness"):
        raise ValueError(
            f"the model's sem_seg_head ({type(head).__name__}) has no HL branch; build it with "
            "MODEL.SEM_SEG_HEAD.NAME 'HardnessHead' and load an HL checkpoint."
        )
    return head


@torch.no_grad()
def hardness_maps(model, batched_inputs: List[Dict]) -> List[torch.Tensor]:
    """HL maps sigmoid(z) in [0, 1] of a HardSegmentor with a ``HardnessHead``, one (height,
    width) float tensor per input (mapper dicts with ``image`` (3, H, W)); computed on the whole
    padded image like training, then cropped and resized to ``height`` x ``width``."""
    head = _hardness_head(model)
    images = normalize_and_pad(
        [x["image"] for x in batched_inputs],
        model.pixel_mean,
        model.pixel_std,
        model.backbone.size_divisibility,
    )
    maps = head.hardness(model.backbone(images.tensor), images.tensor.shape[-2:])
    out = []
    for m, (h, w), x in zip(maps, images.image_sizes, batched_inputs):
        m = m[:h, :w][None, None]
        size = (x.get("height", h), x.get("width", w))
        out.append(torch.nn.functional.interpolate(m, size=size, mode="bilinear")[0, 0].cpu())
    return out


def colorize(hardness: np.ndarray) -> np.ndarray:
    """(H, W) values in [0, 1] -> (H, W, 3) uint8 RGB heat map (cv2 JET: blue easy, red hard)."""
    import cv2

    gray = np.clip(hardness * 255.0, 0, 255).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(gray, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)


def hardness_panel(image_rgb, gt, pred, hardness, metadata) -> np.ndarray:
    """(H, 4W, 3) uint8: image | ground truth | prediction | hardness heat map."""
    return np.concatenate([prediction_panel(image_rgb, gt, pred, metadata), colorize(hardness)], 1)


def save_hardness_panels(
    model, dataset_dicts, mapper, metadata, out_dir, num_images=8, min_side=384
) -> List[str]:
    """image | ground truth | prediction | hardness panels of the first ``num_images`` dataset
    dicts (see :func:`save_panels`). Returns the written paths."""
    _hardness_head(model)

    def make_panel(inputs, image, gt, pred, factor):
        hard = hardness_maps(model, [inputs])[0].numpy()
        return hardness_panel(*(upscale(a, factor) for a in (image, gt, pred, hard)), metadata)

    return save_panels(model, dataset_dicts, mapper, out_dir, num_images, make_panel, min_side)
