"""Dataset dict -> model input for per-pixel semantic segmentation, with label checking."""

import copy
import logging
from typing import List

import numpy as np
import torch

from detectron2.config import configurable
from detectron2.data import detection_utils as utils
from detectron2.data import transforms as T

from ..image_io import read_image, read_label_array
from ...modeling.losses import (
    DISTANCE_MAP_KEYS,
    dist_penalty_map,
    distance_maps_for_losses,
    loss_spec_from_config,
    signed_distance_maps,
)

__all__ = ["SemanticDatasetMapper", "build_sem_seg_train_aug", "read_label_map", "check_label_map"]

logger = logging.getLogger(__name__)


def build_sem_seg_train_aug(cfg) -> List[T.Augmentation]:
    """Resize the shortest edge, crop (at most ``SINGLE_CATEGORY_MAX_AREA`` of one class, ignore
    excluded), flip: the training augmentation of detectron2's DeepLab project, from the config."""
    augs = [
        T.ResizeShortestEdge(
            cfg.INPUT.MIN_SIZE_TRAIN, cfg.INPUT.MAX_SIZE_TRAIN, cfg.INPUT.MIN_SIZE_TRAIN_SAMPLING
        )
    ]
    if cfg.INPUT.CROP.ENABLED:
        augs.append(
            T.RandomCrop_CategoryAreaConstraint(
                cfg.INPUT.CROP.TYPE,
                cfg.INPUT.CROP.SIZE,
                cfg.INPUT.CROP.SINGLE_CATEGORY_MAX_AREA,
                cfg.MODEL.SEM_SEG_HEAD.IGNORE_VALUE,
            )
        )
    if cfg.INPUT.RANDOM_FLIP != "none":
        augs.append(
            T.RandomFlip(
                horizontal=cfg.INPUT.RANDOM_FLIP == "horizontal",
                vertical=cfg.INPUT.RANDOM_FLIP == "vertical",
            )
        )
    return augs


def read_label_map(file_name: str) -> np.ndarray:
    """Read a label PNG as raw indices (H, W): mode "L"/"P"/"I" images keep their values (a palette
    image is read as its indices, never converted)."""
    label = read_label_array(file_name)  # decoding errors name the file
    if label.ndim != 2:
        raise ValueError(
            f"{file_name}: label maps must have one channel (class ids), got shape {label.shape}. "
            "Convert colour-coded labels to id PNGs first (see datasets/README.md)."
        )
    return label


def check_label_map(label: np.ndarray, file_name: str, num_classes: int, ignore_value: int):
    """Raise ValueError naming ``file_name`` and the offending values if ``label`` holds anything
    outside [0, num_classes) and ``ignore_value``."""
    bad = (label >= num_classes) & (label != ignore_value)
    if label.dtype.kind == "i":
        bad |= label < 0
    if bad.any():
        values = np.unique(label[bad]).tolist()
        raise ValueError(
            f"{file_name}: label value(s) {values[:10]} outside [0, {num_classes}) and the ignore "
            f"value {ignore_value}. Fix the label file (or rerun its prepare script), or set "
            "MODEL.SEM_SEG_HEAD.NUM_CLASSES / IGNORE_VALUE to match the dataset."
        )


class SemanticDatasetMapper:
    """Maps one dataset dict ``{"file_name", "sem_seg_file_name", "height", "width", ...}`` to
    ``{"image": (3, H, W) uint8 tensor in image_format, "sem_seg": (H, W) int64 tensor, ...}``
    after the augmentations. In training, label values are checked (see :func:`check_label_map`);
    in inference the label is not loaded (evaluators read it from ``sem_seg_file_name``).

    Distance maps (training only, computed from the *augmented* label, once per sample, with
    SciPy's exact EDT), when ``distance_maps`` names them (from the configured losses):

    * ``"dist_penalty"``: (H, W) float16 DPCE penalty in [0, 1]
      (:func:`hardseg.modeling.losses.dist_penalty_map`);
    * ``"signed_dist"``: (K, H, W) float16 signed distance to each class region
      (:func:`hardseg.modeling.losses.signed_distance_maps`; K x H x W x 2 bytes per sample).
    """

    @configurable
    def __init__(
        self,
        is_train: bool = True,
        *,
        augmentations: List,
        image_format: str,
        num_classes: int,
        ignore_value: int = 255,
        distance_maps=(),
    ):
        unknown = [k for k in distance_maps if k not in DISTANCE_MAP_KEYS]
        if unknown:
            raise ValueError(f"unknown distance maps {unknown}; expected {DISTANCE_MAP_KEYS}.")
        self.distance_maps = tuple(distance_maps)
        self.is_train = is_train
        self.augmentations = T.AugmentationList(augmentations)
        self.image_format = image_format
        self.num_classes = num_classes
        self.ignore_value = ignore_value
        mode = "training" if is_train else "inference"
        logger.info(f"[SemanticDatasetMapper] augmentations used in {mode}: {augmentations}")
        if self.distance_maps:
            logger.info(f"[SemanticDatasetMapper] distance maps for the losses: {distance_maps}")

    @classmethod
    def from_config(cls, cfg, is_train: bool = True):
        if is_train:
            augs = build_sem_seg_train_aug(cfg)
        else:
            augs = [T.ResizeShortestEdge(cfg.INPUT.MIN_SIZE_TEST, cfg.INPUT.MAX_SIZE_TEST)]
        return {
            "is_train": is_train,
            "augmentations": augs,
            "image_format": cfg.INPUT.FORMAT,
            "num_classes": cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES,
            "ignore_value": cfg.MODEL.SEM_SEG_HEAD.IGNORE_VALUE,
            # only the maps the configured losses need (none for CE)
            "distance_maps": (
                distance_maps_for_losses(loss_spec_from_config(cfg)) if is_train else ()
            ),
        }

    def __call__(self, dataset_dict):
        dataset_dict = copy.deepcopy(dataset_dict)
        image = read_image(dataset_dict["file_name"], format=self.image_format)  # errors name it
        utils.check_image_size(dataset_dict, image)
        sem_seg = None
        if self.is_train:
            file_name = dataset_dict.pop("sem_seg_file_name")
            sem_seg = read_label_map(file_name)
            check_label_map(sem_seg, file_name, self.num_classes, self.ignore_value)
            if sem_seg.shape != image.shape[:2]:
                raise ValueError(
                    f"{file_name}: label size {sem_seg.shape} differs from the image size "
                    f"{image.shape[:2]} of {dataset_dict['file_name']}."
                )
        aug_input = T.AugInput(image, sem_seg=sem_seg)
        self.augmentations(aug_input)
        image = aug_input.image
        dataset_dict["image"] = torch.as_tensor(np.ascontiguousarray(image.transpose(2, 0, 1)))
        if sem_seg is not None:
            dataset_dict["sem_seg"] = torch.as_tensor(aug_input.sem_seg.astype("long"))
            dataset_dict.update(self.compute_distance_maps(aug_input.sem_seg))
        return dataset_dict

    def compute_distance_maps(self, sem_seg: np.ndarray) -> dict:
        """The configured distance maps of an (augmented) label map, as float16 tensors."""
        out = {}
        if "dist_penalty" in self.distance_maps:
            d = dist_penalty_map(sem_seg, self.ignore_value)
            out["dist_penalty"] = torch.from_numpy(d.astype(np.float16))
        if "signed_dist" in self.distance_maps:
            phi = signed_distance_maps(sem_seg, self.num_classes)
            out["signed_dist"] = torch.from_numpy(phi.astype(np.float16))
        return out
