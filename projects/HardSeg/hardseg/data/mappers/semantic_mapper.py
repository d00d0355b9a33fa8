"""Dataset dict -> model input for per-pixel semantic segmentation, with label checking."""

import copy
import logging
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np
import torch

from detectron2.config import configurable
from detectron2.data import detection_utils as utils
from detectron2.data import transforms as T
from detectron2.projects.point_rend import ColorAugSSDTransform

from ..image_io import read_image, read_label_array
from ..targets import DistanceMapTargets
from ..transforms import CenterPadToSize, SplitRandomScale

__all__ = ["SemanticDatasetMapper", "build_sem_seg_train_aug", "read_label_map", "check_label_map"]

logger = logging.getLogger(__name__)


def build_sem_seg_train_aug(cfg) -> List[T.Augmentation]:
    """Resize the shortest edge, crop (at most ``SINGLE_CATEGORY_MAX_AREA`` of one class, ignore
    excluded), flip: the training augmentation of detectron2's DeepLab project, from the config.
    ``INPUT.COLOR_AUG_SSD`` adds detectron2's PointRend ``ColorAugSSDTransform`` (photometric
    distortion) after the crop, before the flip.

    ``INPUT.RANDOM_SCALE.ENABLED`` replaces the shortest-edge resize by the official U2PL
    rescale (:class:`SplitRandomScale`); ``INPUT.CROP.PAD == "center"`` pads images smaller than
    the crop centred first, labels with ``INPUT.CROP.PAD_LABEL_VALUE`` (:class:`CenterPadToSize`).
    """
    if cfg.INPUT.RANDOM_SCALE.ENABLED:
        augs = [SplitRandomScale(cfg.INPUT.RANDOM_SCALE.RANGE)]
    else:
        augs = [
            T.ResizeShortestEdge(
                cfg.INPUT.MIN_SIZE_TRAIN,
                cfg.INPUT.MAX_SIZE_TRAIN,
                cfg.INPUT.MIN_SIZE_TRAIN_SAMPLING,
            )
        ]
    if cfg.INPUT.CROP.PAD not in ("none", "center"):
        raise ValueError(f"INPUT.CROP.PAD={cfg.INPUT.CROP.PAD!r}; expected 'none' or 'center'.")
    if cfg.INPUT.CROP.ENABLED and cfg.INPUT.CROP.PAD == "center":
        if cfg.INPUT.CROP.TYPE != "absolute":
            raise ValueError("INPUT.CROP.PAD 'center' needs INPUT.CROP.TYPE 'absolute'.")
        augs.append(CenterPadToSize(cfg.INPUT.CROP.SIZE, 0, cfg.INPUT.CROP.PAD_LABEL_VALUE))
    if cfg.INPUT.CROP.ENABLED:
        augs.append(
            T.RandomCrop_CategoryAreaConstraint(
                cfg.INPUT.CROP.TYPE,
                cfg.INPUT.CROP.SIZE,
                cfg.INPUT.CROP.SINGLE_CATEGORY_MAX_AREA,
                cfg.MODEL.SEM_SEG_HEAD.IGNORE_VALUE,
            )
        )
    if cfg.INPUT.get("COLOR_AUG_SSD", False):
        augs.append(ColorAugSSDTransform(img_format=cfg.INPUT.FORMAT))
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


# Transforms that change pixel values, not geometry: a hardness map does not go through them.
PHOTOMETRIC_TRANSFORMS = (ColorAugSSDTransform, T.ColorTransform, T.PILColorTransform)


def apply_geometric_transforms(transforms: T.TransformList, array: np.ndarray) -> np.ndarray:
    """``transforms.apply_image`` without the photometric transforms
    (:data:`PHOTOMETRIC_TRANSFORMS`, e.g. the SSD colour augmentation of the Mask2Former recipes):
    a float map (H, W) resized (bilinear), cropped, padded and flipped like its image."""
    for t in transforms.transforms:
        if not isinstance(t, PHOTOMETRIC_TRANSFORMS):
            array = t.apply_image(array)
    return array


class SemanticDatasetMapper:
    """Maps one dataset dict ``{"file_name", "sem_seg_file_name", "height", "width", ...}`` to
    ``{"image": (3, H, W) uint8 tensor in image_format, "sem_seg": (H, W) int64 tensor, ...}``
    after the augmentations. In training, label values are checked (see :func:`check_label_map`);
    in inference the label is not loaded (evaluators read it from ``sem_seg_file_name``).

    With ``hardness_map_dir`` (``INPUT.HARDNESS_MAP_DIR``, training only), the fixed hardness
    map ``<dir>/<image file stem>.npy`` (H, W) of each image (tools/export_hardness_maps.py) goes
    through the same geometric transforms as the image (bilinear resize, crop, flip) and comes
    out as ``hardness`` (H', W') float16 (photometric transforms are skipped,
    :func:`apply_geometric_transforms`).

    Extra training targets come from ``target_generator`` (training only), called once per sample
    on the *augmented* label (H, W) numpy array; its dict is added to the output. From a config
    it is the :class:`hardseg.data.targets.DistanceMapTargets` of the distance maps the
    configured losses need, stored compactly (``dist_penalty`` (H, W) uint8, ``signed_dist`` a
    :class:`hardseg.data.targets.ClassMaps` of the present classes; the meta-architectures expand
    them with :func:`hardseg.data.targets.decode_loss_map`), or None when they need none.
    """

    # Labels go through the augmentations as float64 (detectron2's ResizeTransform then resizes
    # them with torch's nearest interpolation instead of PIL's); set by subclasses.
    label_as_float = False

    @configurable
    def __init__(
        self,
        is_train: bool = True,
        *,
        augmentations: List,
        image_format: str,
        num_classes: int,
        ignore_value: int = 255,
        target_generator: Optional[Callable[[np.ndarray], Dict[str, object]]] = None,
        hardness_map_dir: Optional[str] = None,
    ):
        self.is_train = is_train
        self.augmentations = T.AugmentationList(augmentations)
        self.image_format = image_format
        self.num_classes = num_classes
        self.ignore_value = ignore_value
        self.target_generator = target_generator
        self.hardness_map_dir = Path(hardness_map_dir) if hardness_map_dir else None
        mode = "training" if is_train else "inference"
        logger.info(f"[SemanticDatasetMapper] augmentations used in {mode}: {augmentations}")
        if target_generator is not None:
            logger.info(f"[SemanticDatasetMapper] training targets: {target_generator}")

    @classmethod
    def from_config(cls, cfg, is_train: bool = True):
        if is_train:
            augs = build_sem_seg_train_aug(cfg)
        else:
            augs = [T.ResizeShortestEdge(cfg.INPUT.MIN_SIZE_TEST, cfg.INPUT.MAX_SIZE_TEST)]
        # only the maps the configured losses need (none for CE)
        targets = DistanceMapTargets.from_config(cfg) if is_train else None
        return {
            "is_train": is_train,
            "augmentations": augs,
            "image_format": cfg.INPUT.FORMAT,
            "num_classes": cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES,
            "ignore_value": cfg.MODEL.SEM_SEG_HEAD.IGNORE_VALUE,
            "target_generator": targets if targets is not None and targets.keys else None,
            "hardness_map_dir": (
                (cfg.INPUT.get("HARDNESS_MAP_DIR", "") or None) if is_train else None
            ),
        }

    def read_image(self, dataset_dict) -> np.ndarray:
        """The image of ``dataset_dict["file_name"]`` (H, W, 3) in ``image_format``, its size
        checked against the dict's ``height``/``width``."""
        image = read_image(dataset_dict["file_name"], format=self.image_format)  # errors name it
        utils.check_image_size(dataset_dict, image)
        return image

    def read_hardness_map(self, dataset_dict, size) -> Optional[np.ndarray]:
        """The fixed hardness map (H, W) float32 of ``dataset_dict``'s image, or None without
        ``hardness_map_dir``. Raises ValueError naming the file if it is missing or mis-sized."""
        if self.hardness_map_dir is None:
            return None
        path = self.hardness_map_dir / (Path(dataset_dict["file_name"]).stem + ".npy")
        if not path.is_file():
            raise ValueError(
                f"INPUT.HARDNESS_MAP_DIR={str(self.hardness_map_dir)!r} has no {path.name} for "
                f"{dataset_dict['file_name']}; export the maps with tools/export_hardness_maps.py."
            )
        hardness = np.load(path, allow_pickle=False).astype(np.float32)
        if hardness.shape != tuple(size):
            raise ValueError(
                f"{path}: hardness map of size {hardness.shape}, but the image "
                f"{dataset_dict['file_name']} is {tuple(size)}; re-export the maps."
            )
        return hardness

    def __call__(self, dataset_dict):
        dataset_dict = copy.deepcopy(dataset_dict)
        image = self.read_image(dataset_dict)
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
        if sem_seg is not None and self.label_as_float:
            sem_seg = sem_seg.astype(np.float64)  # resized by torch, not PIL (subclass option)
        hardness = self.read_hardness_map(dataset_dict, image.shape[:2]) if self.is_train else None
        aug_input = T.AugInput(image, sem_seg=sem_seg)
        transforms = self.augmentations(aug_input)
        image = aug_input.image
        if hardness is not None:
            hardness = apply_geometric_transforms(transforms, hardness)
            dataset_dict["hardness"] = torch.as_tensor(
                np.ascontiguousarray(hardness), dtype=torch.float16
            )
        dataset_dict["image"] = torch.as_tensor(np.ascontiguousarray(image.transpose(2, 0, 1)))
        if sem_seg is not None:
            dataset_dict["sem_seg"] = torch.as_tensor(aug_input.sem_seg.astype("long"))
            if self.target_generator is not None:
                dataset_dict.update(self.target_generator(aug_input.sem_seg))
        return dataset_dict
