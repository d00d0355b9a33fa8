"""Dataset dict -> model input for mask-classification semantic segmentation (MaskFormer style):
the per-pixel mapper's output plus size-divisibility padding and one binary mask per class."""

from typing import Callable, Optional

from torch.nn import functional as F

from detectron2.config import configurable

from ..targets import SemanticMaskTargets, semantic_mask_targets
from .semantic_mapper import SemanticDatasetMapper

__all__ = ["MaskFormerSemanticDatasetMapper", "semantic_mask_targets", "LABEL_RESIZE_MODES"]

LABEL_RESIZE_MODES = ("torch", "pil")


class MaskFormerSemanticDatasetMapper(SemanticDatasetMapper):
    """:class:`SemanticDatasetMapper` (augmentations, label checks), then in training:

    * pad the image (value ``image_pad_value``, 128 as Mask2Former's mapper) and the label
      (``ignore_value``) on the right and bottom to a multiple of ``size_divisibility``
      (``INPUT.SIZE_DIVISIBILITY``; <= 0 means no padding);
    * add the entries of ``mask_target_generator`` called on the padded label (default
      :class:`hardseg.data.targets.SemanticMaskTargets`: ``"instances"``, :class:`Instances` of
      the padded size with ``gt_classes`` (K',) int64 and ``gt_masks`` (K', H, W) bool).

    ``label_resize`` (``INPUT.LABEL_RESIZE``): "torch" reads the label as float64 before the
    augmentations, as Mask2Former's ``MaskFormerSemanticDatasetMapper`` does, so detectron2's
    resize uses torch's nearest interpolation; "pil" keeps the uint8 label, resized by PIL's
    nearest (they differ on a few percent of the boundary pixels). ``INPUT.COLOR_AUG_SSD`` adds
    detectron2's PointRend ``ColorAugSSDTransform`` after the crop, before the flip (the official
    mapper's order; :func:`build_sem_seg_train_aug` places it).

    With ``hardness_map_dir`` (``INPUT.HARDNESS_MAP_DIR``, ``MODEL.HARDNESS.SOURCE "fixed"``) the
    parent reads and transforms the fixed hardness map; it is padded here with 0 like the label.

    Output: ``{"image": (3, H, W) uint8, "sem_seg": (H, W) int64, "instances": Instances, ...}``
    (H, W padded; plus ``"hardness"`` (H, W) float16 with maps). In inference it behaves as
    :class:`SemanticDatasetMapper` (no label).
    Selected with ``INPUT.DATASET_MAPPER_NAME = "mask_former_semantic"``.
    """

    @configurable
    def __init__(
        self,
        is_train: bool = True,
        *,
        size_divisibility: int = -1,
        image_pad_value: int = 128,
        mask_target_generator: Optional[Callable] = None,
        label_resize: str = "pil",
        **kwargs,
    ):
        super().__init__(is_train, **kwargs)
        if label_resize not in LABEL_RESIZE_MODES:
            raise ValueError(
                f"INPUT.LABEL_RESIZE={label_resize!r}; expected one of {LABEL_RESIZE_MODES}."
            )
        self.label_as_float = label_resize == "torch"
        self.size_divisibility = size_divisibility
        self.image_pad_value = image_pad_value
        if mask_target_generator is None:
            mask_target_generator = SemanticMaskTargets(self.ignore_value)
        self.mask_target_generator = mask_target_generator

    @classmethod
    def from_config(cls, cfg, is_train: bool = True):
        ret = SemanticDatasetMapper.from_config.__func__(cls, cfg, is_train)
        ret["size_divisibility"] = cfg.INPUT.SIZE_DIVISIBILITY
        ret["label_resize"] = cfg.INPUT.LABEL_RESIZE
        return ret

    def __call__(self, dataset_dict):
        dataset_dict = super().__call__(dataset_dict)
        if "sem_seg" not in dataset_dict:
            return dataset_dict
        image, sem_seg = dataset_dict["image"], dataset_dict["sem_seg"]
        if self.size_divisibility > 0:
            h, w = image.shape[-2:]
            pad_h = (-h) % self.size_divisibility
            pad_w = (-w) % self.size_divisibility
            if pad_h or pad_w:
                image = F.pad(image, (0, pad_w, 0, pad_h), value=self.image_pad_value)
                sem_seg = F.pad(sem_seg, (0, pad_w, 0, pad_h), value=self.ignore_value)
                if "hardness" in dataset_dict:  # fixed hardness map: padding weighs 0
                    dataset_dict["hardness"] = F.pad(dataset_dict["hardness"], (0, pad_w, 0, pad_h))
        dataset_dict.update(image=image, sem_seg=sem_seg)
        dataset_dict.update(self.mask_target_generator(sem_seg))
        return dataset_dict
