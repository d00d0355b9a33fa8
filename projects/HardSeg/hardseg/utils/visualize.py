"""Side-by-side PNG panels: image | ground truth | prediction."""

import datetime
import logging
import os

import numpy as np

from detectron2.utils.visualizer import ColorMode, Visualizer

from ..data.mappers import read_label_map


def draw_sem_seg(image_rgb: np.ndarray, sem_seg: np.ndarray, metadata) -> np.ndarray:
    """Overlay a (H, W) label map on an (H, W, 3) uint8 RGB image with the dataset's colours;
    ignored pixels are left undrawn."""
    vis = Visualizer(image_rgb, metadata, instance_mode=ColorMode.IMAGE)
    ignore = metadata.get("ignore_label", 255)
    labels = np.where(sem_seg == ignore, len(metadata.stuff_classes), sem_seg)
    return vis.draw_sem_seg(labels, alpha=0.6).get_image()


def prediction_panel(image_rgb, gt, pred, metadata) -> np.ndarray:
    """(H, 3W, 3) uint8: the image, the ground truth overlay and the prediction overlay."""
    return np.concatenate(
        [image_rgb, draw_sem_seg(image_rgb, gt, metadata), draw_sem_seg(image_rgb, pred, metadata)],
        axis=1,
    )


def upscale(array: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscaling of an (H, W) or (H, W, C) array by an integer factor."""
    return array.repeat(factor, axis=0).repeat(factor, axis=1)


def save_panels(
    model, dataset_dicts, mapper, out_dir, num_images, make_panel, min_side=384, log_period=5.0
):
    """Run ``model`` (eval mode) on the first ``num_images`` dataset dicts and write
    ``<out_dir>/<image name>.png`` panels, logging progress (count and ETA) for the first and the
    last panel and every ``log_period`` seconds.

    Args:
        make_panel: ``(inputs, image, gt, pred, factor) -> (H', W', 3) uint8`` given the mapper's
            dict, the (H, W, 3) RGB image, the (H, W) ground truth and prediction, and the integer
            factor by which they are to be upscaled (nearest neighbour, see :func:`upscale`): images
            whose longer side is below ``min_side`` are enlarged so that class names stay legible.

    Returns:
        the written paths.
    """
    import time

    import torch
    from PIL import Image

    os.makedirs(out_dir, exist_ok=True)
    chosen = dataset_dicts[:num_images]
    logger = logging.getLogger("hardseg")
    paths, start, last_log = [], time.perf_counter(), None
    model.eval()
    for i, d in enumerate(chosen):
        inputs = mapper(d)
        with torch.no_grad():
            pred = model([inputs])[0]["sem_seg"].argmax(0).cpu().numpy()
        image = np.asarray(Image.open(d["file_name"]).convert("RGB"))
        gt = read_label_map(d["sem_seg_file_name"])
        factor = max(1, min_side // max(image.shape[:2]))
        path = os.path.join(out_dir, os.path.splitext(os.path.basename(d["file_name"]))[0] + ".png")
        Image.fromarray(make_panel(inputs, image, gt, pred, factor)).save(path)
        paths.append(path)
        now = time.perf_counter()
        if last_log is None or now - last_log >= log_period or i + 1 == len(chosen):
            eta = datetime.timedelta(seconds=round((now - start) / (i + 1) * (len(chosen) - i - 1)))
            logger.info(f"{out_dir}: {i + 1}/{len(chosen)} panels, ETA {eta}")
            last_log = now
    return paths


def save_prediction_panels(
    model, dataset_dicts, mapper, metadata, out_dir, num_images=8, min_side=384
):
    """image | ground truth | prediction panels of the first ``num_images`` dataset dicts (see
    :func:`save_panels`). Returns the written paths."""

    def make_panel(inputs, image, gt, pred, factor):
        return prediction_panel(*(upscale(a, factor) for a in (image, gt, pred)), metadata)

    return save_panels(model, dataset_dicts, mapper, out_dir, num_images, make_panel, min_side)
