"""The mask-classification meta-architecture (Mask2Former for semantic segmentation), with
optional HL on the mask losses.

Dimension legend: N images; Q queries; K classes; (H, W) padded input size; (h, w) each input's
output size (``height``/``width``).
"""

from typing import Dict, List, Optional

import torch
from torch import nn
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.modeling import (
    META_ARCH_REGISTRY,
    build_backbone,
    build_sem_seg_head,
)
from detectron2.modeling.postprocessing import sem_seg_postprocess
from detectron2.structures import ImageList

from ..heads.cac_options import CACOptions
from ..mask_former import (
    HungarianMatcher,
    MaskCACBranch,
    MaskClassificationCriterion,
    MaskHardnessBranch,
    semantic_inference,
    semantic_mask_targets,
)
from ..preprocess import batch_hardness_maps, normalize_and_pad
from ..sync_bn import sync_bn_fallback
from .hard_segmentor import fixed_hardness_eps_from_config

__all__ = ["HardMaskFormer"]


@META_ARCH_REGISTRY.register()
class HardMaskFormer(nn.Module):
    """Normalise and pad (to ``size_divisibility``), backbone -> :class:`MaskFormerHead` (pixel
    decoder + transformer decoder); in training the loss is ``criterion`` (Hungarian matching,
    class CE, point BCE + Dice, deep supervision), in inference :func:`semantic_inference`.

    Inputs: dicts with ``image`` (3, H_i, W_i) in ``INPUT.FORMAT``; in training also
    ``instances`` (``gt_classes`` (T,), ``gt_masks`` (T, H_i, W_i), from
    :class:`MaskFormerSemanticDatasetMapper`) or, failing that, ``sem_seg`` (H_i, W_i) int64,
    turned into per-class masks here. Optional ``height``/``width``: output size.

    Outputs: training, a dict of losses (``loss_ce``, ``loss_mask``, ``loss_dice``, their
    ``_i`` deep-supervision copies, and ``loss_hardness`` with HL); inference,
    ``[{"sem_seg": (K, h, w) scores}]`` -- scores from :func:`semantic_inference`, not logits.

    HL (``hardness_branch`` not None, ``MODEL.HARDNESS.ENABLED``): the branch reads the detached
    ``mask_features`` and its logits weight the point mask losses; see
    :mod:`hardseg.modeling.mask_former.hardness_branch`. It is not run in inference.

    Fixed maps (``fixed_hardness``, ``MODEL.HARDNESS.SOURCE "fixed"``, docs/methods/hl.md §8.6):
    no HL branch; each training input's ``hardness`` (H_i, W_i) map from the mapper
    (``INPUT.HARDNESS_MAP_DIR``), padded with 0 to the batch size, takes the HL logits' place in
    the criterion: read at the same points, ``w = (m + eps) / sum(m + eps)``, no
    ``loss_hardness``.
    """

    @configurable
    def __init__(
        self,
        *,
        backbone: nn.Module,
        sem_seg_head: nn.Module,
        criterion: MaskClassificationCriterion,
        pixel_mean,
        pixel_std,
        size_divisibility: int = 32,
        hardness_branch: Optional[nn.Module] = None,
        cac_branch: Optional[nn.Module] = None,
        sem_seg_postprocess_before_inference: bool = False,
        device: str = "cpu",
        fixed_hardness: bool = False,
    ):
        """``fixed_hardness``: weight the mask losses by the inputs' fixed ``hardness`` maps
        (``MODEL.HARDNESS.SOURCE "fixed"``); excludes ``hardness_branch``. Other arguments: the
        class docstring and :meth:`from_config`."""
        super().__init__()
        if fixed_hardness and hardness_branch is not None:
            raise ValueError(
                "MODEL.HARDNESS.SOURCE 'fixed' weights the mask losses by exported maps; it "
                "replaces the online HL branch, so set MODEL.HARDNESS.ENABLED False."
            )
        self.fixed_hardness = fixed_hardness
        self.backbone = backbone
        self.sem_seg_head = sem_seg_head
        self.criterion = criterion
        self.hardness_branch = hardness_branch
        self.cac_branch = cac_branch
        if size_divisibility < 0:
            size_divisibility = backbone.size_divisibility
        self.size_divisibility = size_divisibility
        self.sem_seg_postprocess_before_inference = sem_seg_postprocess_before_inference
        self.register_buffer("pixel_mean", torch.tensor(pixel_mean).view(-1, 1, 1), False)
        self.register_buffer("pixel_std", torch.tensor(pixel_std).view(-1, 1, 1), False)
        sync_bn_fallback(self, device)

    @classmethod
    def from_config(cls, cfg):
        backbone = build_backbone(cfg)
        sem_seg_head = build_sem_seg_head(cfg, backbone.output_shape())
        mf = cfg.MODEL.MASK_FORMER
        matcher = HungarianMatcher(
            cost_class=mf.CLASS_WEIGHT,
            cost_mask=mf.MASK_WEIGHT,
            cost_dice=mf.DICE_WEIGHT,
            num_points=mf.TRAIN_NUM_POINTS,
        )
        hl = cfg.MODEL.HARDNESS
        criterion = MaskClassificationCriterion(
            cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES,
            matcher,
            class_weight=mf.CLASS_WEIGHT,
            mask_weight=mf.MASK_WEIGHT,
            dice_weight=mf.DICE_WEIGHT,
            no_object_weight=mf.NO_OBJECT_WEIGHT,
            num_points=mf.TRAIN_NUM_POINTS,
            oversample_ratio=mf.OVERSAMPLE_RATIO,
            importance_sample_ratio=mf.IMPORTANCE_SAMPLE_RATIO,
            deep_supervision=mf.DEEP_SUPERVISION,
            hardness_eps=hl.EPS,
            hardness_loss_weight=hl.LOSS_WEIGHT,
        )
        hardness_branch = None
        if hl.ENABLED:
            if hl.BRANCH != "copy":  # the key chooses HardnessHead's branch; say so, not ignore it
                raise ValueError(
                    f"MODEL.HARDNESS.BRANCH={hl.BRANCH!r} selects the HL branch of HardnessHead "
                    "(per-pixel models); the mask-classification model always uses its own small "
                    "branch on mask_features (MaskHardnessBranch). Leave BRANCH 'copy' here."
                )
            head = cfg.MODEL.SEM_SEG_HEAD
            hardness_branch = MaskHardnessBranch(
                head.MASK_DIM, head.CONVS_DIM, head.NORM, init_std=hl.PREDICTOR_INIT_STD
            )
        cac_branch = None
        if cfg.MODEL.CAC.ENABLED:  # docs/methods/cac.md §8
            head = cfg.MODEL.SEM_SEG_HEAD
            cac_branch = MaskCACBranch(
                head.MASK_DIM,
                head.NUM_CLASSES,
                ignore_value=head.IGNORE_VALUE,
                norm=head.NORM,
                options=CACOptions.from_config(cfg),
            )
        return {
            "backbone": backbone,
            "sem_seg_head": sem_seg_head,
            "criterion": criterion,
            "cac_branch": cac_branch,
            "pixel_mean": cfg.MODEL.PIXEL_MEAN,
            "pixel_std": cfg.MODEL.PIXEL_STD,
            "size_divisibility": mf.SIZE_DIVISIBILITY,
            "hardness_branch": hardness_branch,
            "sem_seg_postprocess_before_inference": (
                mf.TEST.SEM_SEG_POSTPROCESSING_BEFORE_INFERENCE
            ),
            "device": cfg.MODEL.DEVICE,
            # checks SOURCE and INPUT.HARDNESS_MAP_DIR; ENABLED with "fixed" fails in __init__
            "fixed_hardness": fixed_hardness_eps_from_config(cfg) is not None,
        }

    @property
    def device(self):
        return self.pixel_mean.device

    def forward(self, batched_inputs: List[Dict]):
        images = normalize_and_pad(
            [x["image"] for x in batched_inputs],
            self.pixel_mean,
            self.pixel_std,
            self.size_divisibility,
        )
        features = self.backbone(images.tensor)
        outputs, mask_features = self.sem_seg_head(features)
        if self.training:
            targets = self.prepare_targets(batched_inputs, images.tensor.shape[-2:])
            hl = {}
            if self.hardness_branch is not None:
                hl["hardness_logits"] = self.hardness_branch(mask_features)
            if self.fixed_hardness:
                maps = batch_hardness_maps(batched_inputs, images.tensor.shape[-2:], self.device)
                hl["hardness_maps"] = maps[:, None]
            losses = self.criterion(outputs, targets, **hl)
            if self.cac_branch is not None:
                losses.update(self.cac_branch(mask_features, outputs, targets))
            return losses
        return self.inference(outputs, batched_inputs, images)

    def prepare_targets(self, batched_inputs, padded_size):
        """Per image ``{"labels": (T,) int64, "masks": (T, H, W) bool}`` padded with zeros to the
        batch's padded size (H, W)."""
        ignore_value = self.sem_seg_head.ignore_value
        targets = []
        for x in batched_inputs:
            if "instances" in x:
                inst = x["instances"]
                labels = inst.gt_classes
                masks = getattr(inst.gt_masks, "tensor", inst.gt_masks)
            elif "sem_seg" in x:
                labels, masks = semantic_mask_targets(x["sem_seg"], ignore_value)
            else:
                raise ValueError(
                    "training inputs need 'instances' (MaskFormerSemanticDatasetMapper) or "
                    "'sem_seg'; set INPUT.DATASET_MAPPER_NAME to 'mask_former_semantic'."
                )
            h, w = masks.shape[-2:]
            masks = F.pad(masks.to(torch.bool), (0, padded_size[1] - w, 0, padded_size[0] - h))
            targets.append({"labels": labels.to(self.device), "masks": masks.to(self.device)})
        return targets

    def inference(self, outputs, batched_inputs, images: ImageList):
        mask_pred = F.interpolate(
            outputs["pred_masks"],
            size=images.tensor.shape[-2:],
            mode="bilinear",
            align_corners=False,
        )
        results = []
        for mask_cls, masks, x, image_size in zip(
            outputs["pred_logits"], mask_pred, batched_inputs, images.image_sizes
        ):
            h = x.get("height", image_size[0])
            w = x.get("width", image_size[1])
            if self.sem_seg_postprocess_before_inference:
                masks = sem_seg_postprocess(masks, image_size, h, w)
                r = semantic_inference(mask_cls, masks)
            else:
                r = sem_seg_postprocess(semantic_inference(mask_cls, masks), image_size, h, w)
            results.append({"sem_seg": r})
        return results
