"""The mask-classification loss (Mask2Former's ``SetCriterion``), optionally HL-weighted.

Lives outside the network: the meta-architecture calls it with the decoder outputs, the targets
and, when HL is on, the HL logits (see :mod:`.hardness_branch` for the HL design).

Dimension legend: N images; Q predictions; K classes (K+1 logits, the last "no object"); T_i
targets of image i; M = sum of matched pairs over the batch; P = ``num_points`` sampled points
per pair; (H4, W4) mask-logit size; (H, W) padded target size.
"""

from typing import Dict, List, Optional

import torch
from torch import nn
from torch.nn import functional as F

from detectron2.projects.point_rend.point_features import (
    get_uncertain_point_coords_with_randomness,
    point_sample,
)
from detectron2.utils import comm

from ..losses.hardness import fixed_hardness_weights, hardness_losses, hardness_weights
from .matcher import HungarianMatcher
from .point_losses import mask_uncertainty, point_bce, point_dice
from ..precision import float32_island

__all__ = ["MaskClassificationCriterion"]


class MaskClassificationCriterion(nn.Module):
    """Per prediction layer (the last one, plus every earlier one with deep supervision):

    1. match predictions to targets with ``matcher`` (:class:`HungarianMatcher`);
    2. ``loss_ce``: cross-entropy over K+1 classes of every prediction, unmatched predictions
       labelled "no object", class weights 1 except ``no_object_weight`` for "no object"
       (PyTorch's weighted mean);
    3. ``loss_mask`` / ``loss_dice``: sigmoid BCE (mean over points) and Dice of the matched
       mask logits on ``num_points`` points chosen by PointRend's importance sampling
       (``oversample_ratio``, ``importance_sample_ratio``, uncertainty ``-|logit|``), summed
       over pairs and divided by the number of targets averaged over processes (at least 1).

    Each term is multiplied by its weight (``class_weight``, ``mask_weight``, ``dice_weight``)
    here. Keys of the earlier layers get a suffix ``_0``, ``_1``, ... (oldest first).

    With ``hardness_logits`` (HL on), see :mod:`.hardness_branch`: the point BCE becomes
    ``(M / num_masks) * sum sg(w) * bce`` and the Dice uses point weights ``sg(w) * M * P``,
    where ``w = hardness_weights(HL logits at the same points)`` per layer; the last layer adds
    ``loss_hardness = -hardness_loss_weight * sum w * sg(bce)``.

    With ``hardness_maps`` instead (``MODEL.HARDNESS.SOURCE "fixed"``, docs/methods/hl.md §8.6):
    the fixed maps m (exported sigmoid(z) of a trained HL model) are read at the same points
    (bilinear ``point_sample``, as the labels) and ``w = (m + eps) / sum(m + eps)`` over the
    layer's M * P points (:func:`fixed_hardness_weights`) weights the BCE and the Dice exactly as
    above; there is no ``loss_hardness``.

    forward(outputs {"pred_logits": (N, Q, K+1), "pred_masks": (N, Q, H4, W4), "aux_outputs":
    [...]}, targets [{"labels": (T_i,) int64, "masks": (T_i, H, W) bool/float}],
    hardness_logits (N, 1, H4', W4') or None, hardness_maps (N, 1, H, W) in [0, 1] or None) ->
    dict of scalar losses.
    """

    def __init__(
        self,
        num_classes: int,
        matcher: HungarianMatcher,
        *,
        class_weight: float = 2.0,
        mask_weight: float = 5.0,
        dice_weight: float = 5.0,
        no_object_weight: float = 0.1,
        num_points: int = 12544,
        oversample_ratio: float = 3.0,
        importance_sample_ratio: float = 0.75,
        deep_supervision: bool = True,
        hardness_eps: float = 0.1,
        hardness_loss_weight: float = 0.01,
    ):
        super().__init__()
        self.num_classes = num_classes
        self.matcher = matcher
        self.class_weight, self.mask_weight, self.dice_weight = (
            class_weight,
            mask_weight,
            dice_weight,
        )
        self.no_object_weight = no_object_weight
        self.num_points = num_points
        self.oversample_ratio = oversample_ratio
        self.importance_sample_ratio = importance_sample_ratio
        self.deep_supervision = deep_supervision
        self.hardness_eps = hardness_eps
        self.hardness_loss_weight = hardness_loss_weight
        empty_weight = torch.ones(num_classes + 1)
        empty_weight[-1] = no_object_weight
        self.register_buffer("empty_weight", empty_weight, persistent=False)

    # fp32 island: matching costs, point losses and HL weights in float32
    @float32_island
    def forward(
        self,
        outputs: Dict[str, object],
        targets: List[Dict[str, torch.Tensor]],
        hardness_logits: Optional[torch.Tensor] = None,
        hardness_maps: Optional[torch.Tensor] = None,
    ) -> Dict[str, torch.Tensor]:
        if hardness_logits is not None and hardness_maps is not None:
            raise ValueError(
                "MaskClassificationCriterion: pass the online HL logits or the fixed hardness "
                "maps, not both (MODEL.HARDNESS.ENABLED vs MODEL.HARDNESS.SOURCE 'fixed')."
            )
        num_masks = torch.as_tensor(
            float(sum(len(t["labels"]) for t in targets)),
            device=outputs["pred_logits"].device,
        )
        if comm.get_world_size() > 1:
            torch.distributed.all_reduce(num_masks)
        num_masks = torch.clamp(num_masks / comm.get_world_size(), min=1).item()
        hl = {"hardness_logits": hardness_logits, "hardness_maps": hardness_maps}
        losses = self.layer_losses(outputs, targets, num_masks, hl_term=True, **hl)
        if self.deep_supervision:
            for i, aux in enumerate(outputs.get("aux_outputs", [])):
                aux_losses = self.layer_losses(aux, targets, num_masks, hl_term=False, **hl)
                losses.update({f"{k}_{i}": v for k, v in aux_losses.items()})
        return losses

    def class_loss(self, logits, targets, indices) -> torch.Tensor:
        """Weighted CE over K+1 classes, (N, Q, K+1) -> scalar (without ``class_weight``)."""
        target_classes = torch.full(
            logits.shape[:2], self.num_classes, dtype=torch.int64, device=logits.device
        )
        for b, (src, tgt) in enumerate(indices):
            target_classes[b, src.to(logits.device)] = targets[b]["labels"][tgt]
        return F.cross_entropy(
            logits.float().transpose(1, 2), target_classes, weight=self.empty_weight
        )

    def sample_points(self, src_masks: torch.Tensor, tgt_masks: torch.Tensor):
        """(M, H4, W4) logits, (M, H, W) targets -> point coords (M, P, 2) in [0, 1] (no
        gradient), point logits (M, P), point labels (M, P)."""
        src_masks = src_masks[:, None].float()
        with torch.no_grad():
            coords = get_uncertain_point_coords_with_randomness(
                src_masks,
                mask_uncertainty,
                self.num_points,
                self.oversample_ratio,
                self.importance_sample_ratio,
            )
            labels = point_sample(tgt_masks[:, None].float(), coords, align_corners=False)[:, 0]
        logits = point_sample(src_masks, coords, align_corners=False)[:, 0]
        return coords, logits, labels

    def point_weights(self, coords, batch_idx, hardness_logits=None, hardness_maps=None):
        """The weights w (M, P), summing to 1, of the M matched pairs' points ``coords`` (M, P, 2)
        (pair k in image ``batch_idx[k]``): from the online HL logits (N, 1, H4, W4) read at
        the points, ``hardness_weights``, or from the fixed maps (N, 1, H, W) read at the points,
        ``fixed_hardness_weights``; None without either."""
        if hardness_logits is not None:
            z = point_sample(
                hardness_logits[batch_idx.to(coords.device)].float(), coords, align_corners=False
            )[:, 0]
            return hardness_weights(z, self.hardness_eps)
        if hardness_maps is not None:
            m = point_sample(
                hardness_maps[batch_idx.to(coords.device)].float(), coords, align_corners=False
            )[:, 0]
            return fixed_hardness_weights(m, self.hardness_eps)
        return None

    def layer_losses(
        self,
        outputs,
        targets,
        num_masks,
        hardness_logits=None,
        hl_term=True,
        hardness_maps=None,
    ):
        """The losses of one prediction layer (see the class docstring)."""
        indices = self.matcher(outputs, targets)
        logits, pred_masks = outputs["pred_logits"], outputs["pred_masks"]
        losses = {"loss_ce": self.class_loss(logits, targets, indices) * self.class_weight}
        batch_idx = torch.cat([torch.full_like(src, b) for b, (src, _) in enumerate(indices)])
        src_idx = torch.cat([src for src, _ in indices])
        if len(src_idx) == 0:  # no target in the batch: zero losses that keep the graph
            zero = pred_masks.sum() * 0.0
            losses.update(loss_mask=zero, loss_dice=zero)
            if hardness_logits is not None and hl_term:
                losses["loss_hardness"] = hardness_logits.sum() * 0.0
            return losses
        device = pred_masks.device
        src_masks = pred_masks[batch_idx.to(device), src_idx.to(device)]
        tgt_masks = torch.cat([t["masks"][tgt] for t, (_, tgt) in zip(targets, indices)])
        coords, point_logits, point_labels = self.sample_points(src_masks, tgt_masks)
        bce = point_bce(point_logits, point_labels)  # (M, P)
        w = self.point_weights(coords, batch_idx, hardness_logits, hardness_maps)  # (M, P)
        if w is None:
            loss_mask = bce.mean(dim=1).sum() / num_masks
            loss_dice = point_dice(point_logits, point_labels).sum() / num_masks
        else:
            seg, hl = hardness_losses(w, bce, self.hardness_loss_weight)
            loss_mask = seg * (len(src_idx) / num_masks)
            point_weights = w.detach() * w.numel()  # mean 1: uniform w gives the plain Dice
            loss_dice = point_dice(point_logits, point_labels, point_weights).sum() / num_masks
            if hl_term and hardness_logits is not None:  # fixed maps: no HL term
                losses["loss_hardness"] = hl
        losses["loss_mask"] = loss_mask * self.mask_weight
        losses["loss_dice"] = loss_dice * self.dice_weight
        return losses
