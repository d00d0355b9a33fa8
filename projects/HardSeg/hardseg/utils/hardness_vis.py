"""Hardness maps of a trained HL model, and image | ground truth | prediction | hardness panels."""

import os
from typing import Dict, List

import numpy as np
import torch

from ..data.mappers import read_label_map
from ..modeling.preprocess import normalize_and_pad
from .visualize import prediction_panel, upscale


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
    """Write ``<out_dir>/<image name>.png`` hardness panels for the first ``num_images`` dicts
    (small images upscaled by an integer factor, as ``save_prediction_panels`` does). Returns the
    written paths."""
    from PIL import Image

    _hardness_head(model)
    os.makedirs(out_dir, exist_ok=True)
    model.eval()
    paths = []
    for d in dataset_dicts[:num_images]:
        inputs = mapper(d)
        with torch.no_grad():
            pred = model([inputs])[0]["sem_seg"].argmax(0).cpu().numpy()
        hard = hardness_maps(model, [inputs])[0].numpy()
        image = np.asarray(Image.open(d["file_name"]).convert("RGB"))
        gt = read_label_map(d["sem_seg_file_name"])
        factor = max(1, min_side // max(image.shape[:2]))
        image, gt, pred, hard = (upscale(a, factor) for a in (image, gt, pred, hard))
        path = os.path.join(out_dir, os.path.splitext(os.path.basename(d["file_name"]))[0] + ".png")
        Image.fromarray(hardness_panel(image, gt, pred, hard, metadata)).save(path)
        paths.append(path)
    return paths
