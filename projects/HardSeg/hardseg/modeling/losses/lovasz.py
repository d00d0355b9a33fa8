"""Lovász-Softmax loss (Berman, Rannen Triki & Blaschko, CVPR 2018; docs/methods/losses.md §10)."""

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["LovaszSoftmaxLoss", "lovasz_grad"]

LOVASZ_CLASSES = ("present", "all")


def lovasz_grad(fg_sorted: torch.Tensor) -> torch.Tensor:
    """Gradient of the Lovász extension of the Jaccard loss at the sorted errors.

    With ``fg`` the foreground indicator sorted by decreasing error and ``G = sum fg``:
    ``J_k = 1 - (G - cumsum(fg)_k) / (G + cumsum(1 - fg)_k)``, ``Delta_1 = J_1``,
    ``Delta_k = J_k - J_{k-1}``. Returns ``Delta`` (P,).
    """
    g = fg_sorted.sum()
    intersection = g - fg_sorted.cumsum(0)
    union = g + (1 - fg_sorted).cumsum(0)
    jaccard = 1 - intersection / union
    if fg_sorted.numel() > 1:
        jaccard = torch.cat([jaccard[:1], jaccard[1:] - jaccard[:-1]])
    return jaccard


class LovaszSoftmaxLoss(nn.Module):
    """Lovász-Softmax: a convex surrogate of the per-class Jaccard loss.

    Over the valid pixels of a set (the whole batch, or one image with ``per_image=True``), for
    each class c: errors ``m_i = |g_ic - p_ic|`` sorted descending (permutation pi),
    ``l_c = sum_k m_pi(k) Delta_k`` with ``Delta`` from :func:`lovasz_grad` of ``g_c[pi]``;
    ``L = mean_{c in C} l_c``, where ``C`` = classes present in the set's GT (``classes="present"``)
    or all K classes (``"all"``). With ``per_image``, the mean over the images that have a valid
    pixel. Cost: one sort per class, O(K P log P).

    Defaults (Berman's): ``classes="present"``, ``per_image=False``.
    """

    def __init__(self, ignore_value: int = 255, classes: str = "present", per_image=False):
        super().__init__()
        if classes not in LOVASZ_CLASSES:
            raise ValueError(f"Lovász classes={classes!r}; expected one of {LOVASZ_CLASSES}.")
        self.ignore_value = ignore_value
        self.classes = classes
        self.per_image = bool(per_image)

    def _flat(self, probs: torch.Tensor, labels: torch.Tensor):
        """probs (P, K), labels (P,) of valid pixels -> scalar, or None if nothing to average."""
        losses = []
        for c in range(probs.shape[1]):
            fg = (labels == c).to(probs.dtype)
            if self.classes == "present" and fg.sum() == 0:
                continue
            errors = (fg - probs[:, c]).abs()
            errors_sorted, perm = torch.sort(errors, descending=True)
            losses.append(torch.dot(errors_sorted, lovasz_grad(fg[perm])))
        if not losses:
            return None
        return torch.stack(losses).mean()

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """logits (N, K, H, W), targets (N, H, W) -> scalar."""
        k = logits.shape[1]
        probs = F.softmax(logits, dim=1).permute(0, 2, 3, 1)  # (N, H, W, K)
        sets = (
            [(probs[i], targets[i]) for i in range(len(targets))]
            if self.per_image
            else [(probs, targets)]
        )
        losses = []
        for p, t in sets:
            valid = t != self.ignore_value
            value = self._flat(p[valid].reshape(-1, k), t[valid].reshape(-1))
            if value is not None:
                losses.append(value)
        if not losses:
            return logits.sum() * 0.0
        return torch.stack(losses).mean()
