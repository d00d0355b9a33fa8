"""Distance maps of a label map (computed once per sample by the data mapper, after augmentation)
and the losses that use them: boundary loss and Hausdorff distance-transform loss.

See docs/methods/losses.md §4 (DPCE map), §11 (boundary loss), §12 (HD loss). Distances are
Euclidean, in pixels of the augmented label (OpenCV's exact transform, as
``scipy.ndimage.distance_transform_edt``; hardseg/data/targets/distance.py).
"""

import numpy as np
import torch
from torch import nn

from detectron2.utils.events import get_event_storage

from ...data.targets.distance import (
    DISTANCE_MAP_KEYS,
    dist_penalty_map,
    edt,
    signed_distance_maps,
)
from .region import GeneralizedDiceLoss, masked_probs_onehot

__all__ = [
    "dist_penalty_map",
    "signed_distance_maps",
    "BoundaryLoss",
    "GDLBoundaryLoss",
    "HausdorffDTLoss",
    "DISTANCE_MAP_KEYS",
]


def _check_map(name, tensor, expected_shape):
    if tuple(tensor.shape) != tuple(expected_shape):
        raise ValueError(
            f"{name} has shape {tuple(tensor.shape)}, expected {tuple(expected_shape)}; the mapper "
            "computes it on the augmented label and the meta-arch pads it like the targets."
        )


class BoundaryLoss(nn.Module):
    """Boundary loss (Kervadec et al., MIDL 2019; docs/methods/losses.md §11).

    ``L = (1 / (K N_v)) sum_i v_i sum_c phi_c(i) p_c(i)`` with ``phi`` from
    :func:`signed_distance_maps` (input ``signed_dist`` (N, K, H, W)). Negative inside the GT
    regions, so a perfect one-hot prediction gives the minimum ``sum_{i in G} phi / (K N_v)``.
    The per-pixel form is ``sum_c phi_c p_c / K``. The original work uses it with a GDL term whose
    weight is moved to it over training: :class:`GDLBoundaryLoss` ("gdl_boundary"); fixed weights
    go through ``MODEL.SEM_SEG_HEAD.LOSSES``/``LOSS_WEIGHTS``.
    """

    required_inputs = ("signed_dist",)

    def __init__(self, ignore_value: int = 255):
        super().__init__()
        self.ignore_value = ignore_value

    def pixel_loss(self, logits, targets, signed_dist):
        """(N, H, W) ``sum_c phi_c p_c / K``, 0 at ignored pixels."""
        _check_map("signed_dist", signed_dist, logits.shape)
        p, _, valid = masked_probs_onehot(logits, targets, self.ignore_value)
        return (p * signed_dist.to(p.dtype)).sum(1) / logits.shape[1] * valid

    def forward(self, logits, targets, signed_dist):
        n_valid = (targets != self.ignore_value).sum().clamp(min=1)
        return self.pixel_loss(logits, targets, signed_dist).sum() / n_valid


def _unsigned_distance(mask: np.ndarray) -> np.ndarray:
    """``edt(M) + edt(~M)`` (H, W) float32, 0 when M is empty or full (exact transforms)."""
    if not mask.any() or mask.all():
        return np.zeros(mask.shape, np.float32)
    return edt(mask) + edt(~mask)


class HausdorffDTLoss(nn.Module):
    """Hausdorff-distance loss, distance-transform form (Karimi & Salcudean 2019;
    docs/methods/losses.md §12).

    ``L = (1 / (K N_v)) sum_i v_i sum_c (p~_c(i) - g_c(i))^2 (d_G,c(i)^alpha + d_S,c(i)^alpha)``.
    ``d_G = edt(G) + edt(~G)`` is the unsigned distance to the GT boundary, derived from the
    mapper's ``signed_dist`` as ``|phi| + g`` (0 for absent/full classes); ``d_S`` is the same for
    the thresholded prediction ``S_c = p~_c > 0.5``, computed here on the CPU with OpenCV's exact
    transform, without gradient (one EDT pair per image and class per step: the dominant cost).

    Defaults: ``alpha=2.0``. Per-pixel form: ``sum_c (...) / K``.
    """

    required_inputs = ("signed_dist",)

    def __init__(self, ignore_value: int = 255, alpha: float = 2.0):
        super().__init__()
        self.ignore_value = ignore_value
        self.alpha = float(alpha)

    @torch.no_grad()
    def _pred_distance(self, p: torch.Tensor) -> torch.Tensor:
        seg = (p > 0.5).cpu().numpy()
        out = np.zeros(seg.shape, dtype=np.float32)
        for n in range(seg.shape[0]):
            for c in range(seg.shape[1]):
                out[n, c] = _unsigned_distance(seg[n, c])
        return torch.from_numpy(out).to(device=p.device, dtype=p.dtype)

    def pixel_loss(self, logits, targets, signed_dist):
        """(N, H, W) per-pixel loss, 0 at ignored pixels."""
        _check_map("signed_dist", signed_dist, logits.shape)
        p, g, valid = masked_probs_onehot(logits, targets, self.ignore_value)
        phi = signed_dist.to(p.dtype)
        present = (phi != 0).flatten(2).any(2)[..., None, None].to(p.dtype)
        d_gt = (phi.abs() + g) * present
        d_pred = self._pred_distance(p.detach())
        dist = d_gt**self.alpha + d_pred**self.alpha
        return ((p - g) ** 2 * dist).sum(1) / logits.shape[1] * valid

    def forward(self, logits, targets, signed_dist):
        n_valid = (targets != self.ignore_value).sum().clamp(min=1)
        return self.pixel_loss(logits, targets, signed_dist).sum() / n_valid


class GDLBoundaryLoss(nn.Module):
    """Generalized Dice + boundary loss with the boundary weight raised during training, as in
    Kervadec et al.'s "StealWeight" schedule (docs/methods/losses.md §11):

    ``L = lambda_GDL(t) L_GDL + lambda_B(t) L_B`` with ``lambda_B(t) = min(alpha0 + alpha_step *
    floor(t / step_iters), 1 - min_gdl_weight)`` and ``lambda_GDL = 1 - lambda_B`` (so
    ``lambda_GDL >= min_gdl_weight``), where ``t`` is the training iteration read from
    detectron2's event storage (0 outside training). ``step_iters`` is the "epoch" in iterations.
    :class:`GeneralizedDiceLoss` and :class:`BoundaryLoss` use their defaults.

    Defaults: ``alpha0=0.01``, ``alpha_step=0.01``, ``step_iters=1000``, ``min_gdl_weight=0.1``.
    No per-pixel form (GDL has none).
    """

    required_inputs = ("signed_dist",)

    def __init__(
        self,
        ignore_value: int = 255,
        alpha0: float = 0.01,
        alpha_step: float = 0.01,
        step_iters: int = 1000,
        min_gdl_weight: float = 0.1,
    ):
        super().__init__()
        if step_iters <= 0:
            raise ValueError(f"gdl_boundary step_iters must be > 0, got {step_iters}.")
        self.alpha0, self.alpha_step = float(alpha0), float(alpha_step)
        self.step_iters = int(step_iters)
        self.min_gdl_weight = float(min_gdl_weight)
        self.gdl = GeneralizedDiceLoss(ignore_value)
        self.boundary = BoundaryLoss(ignore_value)

    def boundary_weight(self, iteration: int) -> float:
        """``lambda_B`` at ``iteration``."""
        alpha = self.alpha0 + self.alpha_step * (int(iteration) // self.step_iters)
        return min(alpha, 1.0 - self.min_gdl_weight)

    @staticmethod
    def _iteration() -> int:
        try:
            return get_event_storage().iter
        except AssertionError:  # no EventStorage: not inside a training loop
            return 0

    def forward(self, logits, targets, signed_dist):
        w_b = self.boundary_weight(self._iteration())
        return (1 - w_b) * self.gdl(logits, targets) + w_b * self.boundary(
            logits, targets, signed_dist
        )
