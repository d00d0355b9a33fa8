"""Side-by-side PNG panels: image | ground truth | prediction."""

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


def save_prediction_panels(
    model, dataset_dicts, mapper, metadata, out_dir, num_images=8, min_side=384
):
    """Run ``model`` (eval mode) on the first ``num_images`` dataset dicts and write
    ``<out_dir>/<image name>.png`` panels. Images whose longer side is below ``min_side`` are
    upscaled by an integer factor (nearest neighbour) so that the class names stay legible.
    Returns the written paths."""
    import torch
    from PIL import Image

    os.makedirs(out_dir, exist_ok=True)
    paths = []
    model.eval()
    for d in dataset_dicts[:num_images]:
        inputs = mapper(d)
        with torch.no_grad():
            pred = model([inputs])[0]["sem_seg"].argmax(0).cpu().numpy()
        image = np.asarray(Image.open(d["file_name"]).convert("RGB"))
        gt = read_label_map(d["sem_seg_file_name"])
        factor = max(1, min_side // max(image.shape[:2]))
        image, gt, pred = (upscale(a, factor) for a in (image, gt, pred))
        path = os.path.join(out_dir, os.path.splitext(os.path.basename(d["file_name"]))[0] + ".png")
        Image.fromarray(prediction_panel(image, gt, pred, metadata)).save(path)
        paths.append(path)
    return paths
