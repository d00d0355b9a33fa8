"""HIAST's target-domain training mapper: pseudo-label, HPLA copy-paste, then a weak and a
pixel-aligned strong view (docs/methods/hiast.md §5, §8).

Randomness comes from NumPy's and torch's global generators, which the resumable loader seeds per
sample (hardseg/data/resumable_loader.py): every sample's draws depend on (seed, stream,
position), never on the worker or rank that maps it.
"""

import logging
from typing import Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms.v2.functional as TF

from detectron2.data import get_detection_dataset_dicts

from ..hpla import HPLASampler, paste_hard_pixels
from ..image_io import read_image, read_label_array
from ..pseudo_labels import label_path, load_stats

__all__ = ["TwoViewTargetMapper", "weak_view", "strong_view", "STRONG_OPS"]

logger = logging.getLogger(__name__)

STRONG_OPS = (
    "color_jitter",
    "gaussian_blur",
    "contrast",
    "brightness",
    "posterize",
    "equalize",
    "solarize",
    "to_gray",
)


def weak_view(
    image: torch.Tensor,
    label: torch.Tensor,
    rng: np.random.Generator,
    height_range: Sequence[int],
    aspect: float,
    output_size: Sequence[int],
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Horizontal flip (p 0.5), then a crop of height ~ U[height_range] (capped at the image)
    and width aspect x height (capped) at a uniform position, resized to ``output_size``
    (bilinear image, nearest label). image (3, H, W) uint8, label (H, W) uint8."""
    if rng.random() < 0.5:
        image, label = image.flip(-1), label.flip(-1)
    H, W = label.shape
    lo, hi = min(height_range[0], H), min(height_range[1], H)
    h = int(rng.integers(lo, hi + 1))
    w = min(int(round(h * aspect)), W)
    y0, x0 = int(rng.integers(0, H - h + 1)), int(rng.integers(0, W - w + 1))
    image, label = image[:, y0 : y0 + h, x0 : x0 + w], label[y0 : y0 + h, x0 : x0 + w]
    size = [int(s) for s in output_size]
    image = TF.resize(image, size, interpolation=TF.InterpolationMode.BILINEAR, antialias=False)
    label = TF.resize(label[None], size, interpolation=TF.InterpolationMode.NEAREST)[0]
    return image, label


def _apply(op: str, image: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    if op == "color_jitter":  # brightness, contrast, saturation 0.8..1.2, hue -0.2..0.2
        image = TF.adjust_brightness(image, rng.uniform(0.8, 1.2))
        image = TF.adjust_contrast(image, rng.uniform(0.8, 1.2))
        image = TF.adjust_saturation(image, rng.uniform(0.8, 1.2))
        return TF.adjust_hue(image, rng.uniform(-0.2, 0.2))
    if op == "gaussian_blur":  # odd kernel 3..41, sigma as OpenCV derives it from the kernel
        k = int(rng.choice(np.arange(3, 42, 2)))
        return TF.gaussian_blur(image, [k, k], [0.3 * ((k - 1) * 0.5 - 1) + 0.8] * 2)
    if op == "contrast":
        return TF.adjust_contrast(image, 1.0 + rng.uniform(0.0, 3.0))
    if op == "brightness":
        return TF.adjust_brightness(image, 1.0 + rng.uniform(-0.5, 0.5))
    if op == "posterize":
        return TF.posterize(image, 4)
    if op == "equalize":
        return TF.equalize(image)
    if op == "solarize":
        return TF.solarize(image, 128)
    if op == "to_gray":
        return TF.rgb_to_grayscale(image, num_output_channels=3)
    raise ValueError(f"unknown strong op {op!r}; expected one of {STRONG_OPS}")


def strong_view(
    image: torch.Tensor, rng: np.random.Generator, num_ops: int = 3, prob: float = 0.5
) -> torch.Tensor:
    """``num_ops`` of :data:`STRONG_OPS` drawn without replacement, each then applied with
    probability ``prob``, in the drawn order; pixel-aligned with the input (3, H, W) uint8."""
    for i in rng.choice(len(STRONG_OPS), size=num_ops, replace=False):
        if rng.random() < prob:
            image = _apply(STRONG_OPS[int(i)], image, rng)
    return image


class TwoViewTargetMapper:
    """A target image's dataset dict -> ``{"image": weak (3, h, w) uint8, "image_strong": strong
    (3, h, w) uint8, "sem_seg": pseudo-label (h, w) int64, "height", "width", "file_name"}``.

    The pseudo-label comes from ``pseudo_label_dir`` (checked against ``dataset_name``: same
    dataset, number of images and classes; same size as the image). With ``hpla``, every sample
    gets the hard-class pixels of one donor image pasted before the views are made.
    """

    def __init__(
        self,
        *,
        pseudo_label_dir: str,
        dataset_name: str,
        num_classes: int,
        hpla: bool = True,
        num_hard_classes: int = 14,
        drop_fraction: float = 0.1,
        excluded_classes: Sequence[int] = (),
        crop_height_range: Sequence[int] = (341, 1000),
        crop_aspect: float = 2.0,
        output_size: Sequence[int] = (512, 1024),
        strong_num_ops: int = 3,
        strong_op_prob: float = 0.5,
        image_format: str = "RGB",
    ):
        dicts = get_detection_dataset_dicts([dataset_name], filter_empty=False)
        stats = load_stats(pseudo_label_dir, dataset_name, dicts, num_classes)
        self.pseudo_label_dir = pseudo_label_dir
        self.images = {label_path(pseudo_label_dir, d["file_name"]): d["file_name"] for d in dicts}
        self.sampler = None
        if hpla:
            samples = {
                int(c): [(label_path(pseudo_label_dir, f), n) for f, n in items]
                for c, items in stats["samples_with_class"].items()
            }
            self.sampler = HPLASampler(
                np.asarray(stats["class_mean_probs"]),
                samples,
                num_hard=num_hard_classes,
                drop_fraction=drop_fraction,
                excluded=excluded_classes,
            )
            if len(self.sampler.hard) == 0:
                logger.warning(
                    f"{pseudo_label_dir}: no pseudo-labelled pixel of any allowed class; HPLA "
                    "has nothing to paste this round."
                )
                self.sampler = None
        self.crop = (list(crop_height_range), crop_aspect, list(output_size))
        self.strong = (strong_num_ops, strong_op_prob)
        self.image_format = image_format

    @classmethod
    def from_cfg(cls, cfg):
        h, u = cfg.MODEL.UDA.HIAST.HPLA, cfg.INPUT.UDA
        if len(cfg.DATASETS.TRAIN) != 1:
            raise ValueError(
                f"HIAST trains on one target dataset; DATASETS.TRAIN = {cfg.DATASETS.TRAIN}."
            )
        return cls(
            pseudo_label_dir=cfg.DATASETS.PSEUDO_LABEL_DIR,
            dataset_name=cfg.DATASETS.TRAIN[0],
            num_classes=cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES,
            hpla=h.ENABLED,
            num_hard_classes=h.NUM_HARD_CLASSES,
            drop_fraction=h.DROP_FRACTION,
            excluded_classes=list(h.EXCLUDED_CLASSES),
            crop_height_range=list(u.CROP_HEIGHT_RANGE),
            crop_aspect=u.CROP_ASPECT,
            output_size=list(u.OUTPUT_SIZE),
            strong_num_ops=u.STRONG_NUM_OPS,
            strong_op_prob=u.STRONG_OP_PROB,
            image_format=cfg.INPUT.FORMAT,
        )

    def _read(self, image_file: str, size=None):
        image = read_image(image_file, format=self.image_format)
        path = label_path(self.pseudo_label_dir, image_file)
        label = read_label_array(path)
        if label.shape != image.shape[:2]:
            raise ValueError(
                f"{path}: pseudo-label of size {label.shape}, image {image_file} is "
                f"{image.shape[:2]}; the labels were made for other images, regenerate them."
            )
        image = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
        label = torch.from_numpy(label.astype(np.uint8))
        if size is not None and tuple(label.shape) != tuple(size):  # a donor of another size
            image = TF.resize(image, list(size), antialias=False)
            label = TF.resize(label[None], list(size), TF.InterpolationMode.NEAREST)[0]
        return image, label

    def __call__(self, dataset_dict: dict) -> dict:
        rng = np.random.default_rng(np.random.randint(0, 2**31))
        image, label = self._read(dataset_dict["file_name"])
        if self.sampler is not None:
            _, donor = self.sampler.sample(rng)
            d_image, d_label = self._read(self.images[donor], size=label.shape)
            img, lab, _ = paste_hard_pixels(
                image.permute(1, 2, 0).numpy(),
                label.numpy(),
                d_image.permute(1, 2, 0).numpy(),
                d_label.numpy(),
                self.sampler.hard,
            )
            image, label = torch.from_numpy(img).permute(2, 0, 1).contiguous(), torch.from_numpy(
                lab
            )
        weak, label = weak_view(image, label, rng, *self.crop)
        strong = strong_view(weak, rng, *self.strong)
        return {
            "file_name": dataset_dict["file_name"],
            "height": int(weak.shape[1]),
            "width": int(weak.shape[2]),
            "image": weak.contiguous(),
            "image_strong": strong.contiguous(),
            "sem_seg": label.long(),
        }
