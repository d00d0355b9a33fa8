"""CAC for mask classification (Mask2Former): HardSeg's adapter, not an official design.

See docs/methods/cac.md §8. The official CAC heads are per-pixel; here X is the pixel decoder's
``mask_features`` (the per-pixel embedding every mask prediction is a dot product with), the
"main head" confidences that choose hard and easy pixels are the per-pixel class probabilities of
the semantic inference, and the weight branch is a per-pixel classifier on detached X trained with
cross-entropy.
"""

from typing import Dict, List, Optional

import torch
from torch import nn
from torch.nn import functional as F

from detectron2.utils.events import get_event_storage

from ..heads.cac_head import ProjectionHead, WeightBranch
from ..heads.cac_options import CACOptions
from ..losses import cac_loss


def semantic_log_probs(pred_logits: torch.Tensor, pred_masks: torch.Tensor) -> torch.Tensor:
    """(N, Q, K+1) class logits, (N, Q, h, w) mask logits -> (N, K, h, w) log of the semantic
    inference's scores normalised over the K classes (float32): their softmax is the per-pixel
    class distribution, their argmax the semantic prediction."""
    prob = pred_logits.float().softmax(-1)[..., :-1]
    scores = torch.einsum("nqk,nqhw->nkhw", prob, pred_masks.float().sigmoid())
    scores = scores / scores.sum(1, keepdim=True).clamp(min=1e-12)
    return scores.clamp(min=1e-12).log()


def label_map(targets: List[Dict[str, torch.Tensor]], ignore_value: int) -> torch.Tensor:
    """Per-image ``{"labels": (T,), "masks": (T, H, W) bool}`` -> (N, H, W) int64 label map,
    ``ignore_value`` where no mask covers a pixel (ignored and padded pixels)."""
    out = []
    for t in targets:
        sem = torch.full(
            t["masks"].shape[-2:], ignore_value, dtype=torch.long, device=t["masks"].device
        )
        for label, mask in zip(t["labels"], t["masks"]):
            sem[mask] = label
        out.append(sem)
    return torch.stack(out)


class MaskCACBranch(nn.Module):
    """Training-only CAC next to a mask-classification head.

    ``forward(mask_features (N, E, h, w), outputs, targets)`` -> ``{"loss_sem_seg_weight":
    beta * CE(up(weight_branch(sg(X))), y), "loss_cac": alpha(t) * cac_loss(proj(X), nearest(y),
    sg(semantic log-probs), weight logits)}``, X = ``mask_features`` and y the label map of the
    targets at the padded input size. Not run in inference.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        *,
        ignore_value: int = 255,
        norm: str = "GN",
        options: Optional[CACOptions] = None,
        **overrides,
    ):
        """``options``: the ``MODEL.CAC.*`` settings (None = the official defaults);
        ``overrides``: :class:`CACOptions` fields that replace those of ``options``."""
        super().__init__()
        options = CACOptions.resolve(options, **overrides)
        self.proj = ProjectionHead(in_channels, options.proj_channels, norm)
        self.weight_branch = WeightBranch(
            in_channels, num_classes, options.weight_kernel_size, norm
        )
        self.ignore_value = ignore_value
        self.loss_weight = float(options.loss_weight)
        self.weight_loss_weight = float(options.weight_loss_weight)
        self.warmup_iters = int(options.warmup_iters)
        self.cac_options = options.loss_kwargs()

    def alpha(self) -> float:
        """0 while the event storage's iteration is below ``warmup_iters``, else alpha."""
        if self.warmup_iters and get_event_storage().iter < self.warmup_iters:
            return 0.0
        return self.loss_weight

    def forward(self, mask_features, outputs, targets) -> Dict[str, torch.Tensor]:
        labels = label_map(targets, self.ignore_value)
        weight_logits = self.weight_branch(mask_features.detach())
        up = F.interpolate(
            weight_logits.float(), size=labels.shape[-2:], mode="bilinear", align_corners=False
        )
        ce = F.cross_entropy(up, labels, ignore_index=self.ignore_value)
        small = F.interpolate(
            labels[:, None].float(), size=mask_features.shape[-2:], mode="nearest"
        )
        with torch.no_grad():
            main = semantic_log_probs(outputs["pred_logits"], outputs["pred_masks"])
        cac = cac_loss(
            self.proj(mask_features),
            small[:, 0].long(),
            main,
            weight_logits,
            ignore_value=self.ignore_value,
            **self.cac_options,
        )
        alpha = self.alpha()
        get_event_storage().put_scalar("cac/alpha", alpha)
        return {"loss_sem_seg_weight": ce * self.weight_loss_weight, "loss_cac": cac * alpha}
