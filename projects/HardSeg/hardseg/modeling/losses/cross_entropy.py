"""Pixel-wise losses built on the GT-class log-probability: cross-entropy (class weights, label
smoothing), OHEM cross-entropy, softmax focal loss and distance-map penalised cross-entropy.

See docs/methods/losses.md §1-§4. Notation: logits ``z`` (N, K, H, W), ``p = softmax(z)``,
targets ``y`` (N, H, W) int64 in [0, K) or ``ignore_value``; valid mask ``v_i = [y_i != ignore]``,
``q_i = p_{i, y_i}``, ``l_i = -log q_i`` and ``N_v = sum_i v_i``. Every loss here has a per-pixel
form ``pixel_loss(z, y) -> (N, H, W)`` (0 at ignored pixels) and ``forward = sum(pixel_loss) /
normaliser``; a batch whose pixels are all ignored gives 0 with finite gradients.
"""

from typing import Optional, Sequence

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "PixelCrossEntropy",
    "OhemCrossEntropy",
    "SoftmaxFocalLoss",
    "DistancePenalizedCrossEntropy",
    "OHEM_NORMALIZERS",
]


def _class_weight_tensor(class_weights: Optional[Sequence[float]]) -> Optional[torch.Tensor]:
    if class_weights is None or len(class_weights) == 0:
        return None
    values = [float(v) for v in class_weights]
    if any(v < 0 for v in values):  # checked on the list: the model may be built on "meta"
        raise ValueError(f"class_weights must be non-negative, got {values}.")
    return torch.tensor(values, dtype=torch.float32)


def _check_num_classes(weights: Optional[torch.Tensor], logits: torch.Tensor, what: str):
    if weights is not None and weights.numel() != logits.shape[1]:
        raise ValueError(
            f"{what} has {weights.numel()} entries but the logits have {logits.shape[1]} classes."
        )


def gt_log_prob(logits: torch.Tensor, targets: torch.Tensor, ignore_value: int) -> torch.Tensor:
    """``log q_i = log softmax(z_i)[y_i]`` (N, H, W), 0 at ignored pixels."""
    valid = targets != ignore_value
    logp = F.log_softmax(logits, dim=1)
    idx = torch.where(valid, targets, torch.zeros_like(targets)).unsqueeze(1)
    return logp.gather(1, idx).squeeze(1) * valid


class PixelCrossEntropy(nn.Module):
    """Softmax cross-entropy with PyTorch semantics (docs/methods/losses.md §1).

    ``L = sum_i v_i w_{y_i} l_i^s / sum_i v_i w_{y_i}``, where ``w`` are the class weights (1 when
    ``class_weights`` is empty) and ``l^s`` is the label-smoothed CE of
    ``F.cross_entropy(label_smoothing=eps)``: ``(1 - eps) l_i + eps/K sum_c w_c (-log p_ic) / w_{y_i}``
    (weighted as PyTorch does). Without weights and smoothing, ``L = sum_i v_i l_i / N_v``.

    Defaults: ``class_weights=None`` (all 1), ``label_smoothing=0``,
    ``avg_over_all_pixels=False``. With ``avg_over_all_pixels=True`` the sum is divided by N*H*W
    (ignored pixels included, no weight normalisation), which is mmseg's ``avg_non_ignore=False``
    scale, for porting mmseg hyperparameters.
    """

    def __init__(
        self,
        ignore_value: int = 255,
        class_weights: Optional[Sequence[float]] = None,
        label_smoothing: float = 0.0,
        avg_over_all_pixels: bool = False,
    ):
        super().__init__()
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}.")
        self.ignore_value = ignore_value
        self.label_smoothing = float(label_smoothing)
        self.avg_over_all_pixels = bool(avg_over_all_pixels)
        self.register_buffer("class_weights", _class_weight_tensor(class_weights), persistent=False)

    def _weights(self, logits):
        if self.class_weights is None:
            return None
        _check_num_classes(self.class_weights, logits, "class_weights")
        return self.class_weights.to(dtype=logits.dtype, device=logits.device)

    def pixel_loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """
        Args:
            logits: (N, K, H, W) unnormalised class scores, at the resolution of ``targets``.
            targets: (N, H, W) int64 class ids in [0, K) or ``ignore_value``.
        Returns:
            (N, H, W) per-pixel loss ``w_{y_i} l_i^s``, 0 at ignored pixels.
        """
        return F.cross_entropy(
            logits,
            targets,
            weight=self._weights(logits),
            reduction="none",
            ignore_index=self.ignore_value,
            label_smoothing=self.label_smoothing,
        )

    def normaliser(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The denominator of :meth:`forward` (at least a tiny positive number)."""
        if self.avg_over_all_pixels:
            return torch.tensor(float(targets.numel()), device=logits.device).clamp(min=1)
        valid = targets != self.ignore_value
        w = self._weights(logits)
        if w is None:
            return valid.sum().clamp(min=1).to(logits.dtype)
        idx = torch.where(valid, targets, torch.zeros_like(targets))
        return (w[idx] * valid).sum().clamp(min=1e-12)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self.pixel_loss(logits, targets).sum() / self.normaliser(logits, targets)


OHEM_NORMALIZERS = ("kept", "all_pixels")
OHEM_SELECTIONS = ("u2pl", "mmseg")


class OhemCrossEntropy(nn.Module):
    """Online hard-example-mining cross-entropy, **U2PL/OHEM-2d variant**
    (docs/methods/losses.md §2).

    Selection (under ``no_grad``): sort the GT-class probabilities ``q`` of the valid pixels
    ascending, ``K = min_kept`` (times N if ``min_kept_per_image``). If ``N_v <= K`` every valid
    pixel is kept; otherwise the threshold is ``t = max(thresh, q_(K))`` (``q_(K)`` = the K-th
    smallest ``q``) and pixels with ``q_i <= t`` are kept (``K = 0``: ``t = thresh``). So every
    pixel whose GT probability is at most ``thresh`` is kept, and at least ``min(K, N_v)``
    pixels are.

    ``L = sum_{i kept} l_i / Z`` with ``Z`` = the number of kept pixels (``normalize="kept"``,
    U2PL) or N*H*W (``normalize="all_pixels"``, mmseg's OHEM sampler + CE scale).

    ``selection="mmseg"`` is mmseg 0.28's ``OHEMPixelSampler`` instead (docs/methods/cac.md
    §4.1): sort the valid ``q`` ascending, ``t = max(thresh, q_sorted[min(K, N_v - 1)]``
    (0-based: the (K+1)-th smallest; 0 when no pixel is valid), keep valid pixels with
    ``q_i < t`` (strictly), with no "keep everything" shortcut.

    ``class_weights`` (one per class; empty: all 1) scale each pixel's loss by ``w_{y_i}``, not
    renormalised (mmseg's ``class_weight``). ``forward``/``pixel_loss`` take an optional
    precomputed ``kept`` mask (CAC's weight branch uses the main head's mask).

    Defaults: ``thresh=0.7``, ``min_kept=100000``, ``min_kept_per_image=False`` (U2PL counts
    per batch; mmseg per image), ``normalize="kept"``, ``selection="u2pl"``. ``thresh=1`` gives
    plain CE; ``thresh=0`` keeps the ``min_kept`` largest losses. Ignored pixels are never kept.
    """

    def __init__(
        self,
        ignore_value: int = 255,
        thresh: float = 0.7,
        min_kept: int = 100000,
        min_kept_per_image: bool = False,
        normalize: str = "kept",
        selection: str = "u2pl",
        class_weights: Optional[Sequence[float]] = None,
    ):
        super().__init__()
        if normalize not in OHEM_NORMALIZERS:
            raise ValueError(f"OHEM normalize={normalize!r}; expected one of {OHEM_NORMALIZERS}.")
        if selection not in OHEM_SELECTIONS:
            raise ValueError(
                f"MODEL.SEM_SEG_LOSS.OHEM_CROSS_ENTROPY.SELECTION={selection!r}; expected one of "
                f"{OHEM_SELECTIONS}."
            )
        if min_kept < 0:
            raise ValueError(f"OHEM min_kept must be >= 0, got {min_kept}.")
        self.ignore_value = ignore_value
        self.thresh = float(thresh)
        self.min_kept = int(min_kept)
        self.min_kept_per_image = bool(min_kept_per_image)
        self.normalize = normalize
        self.selection = selection
        self.register_buffer("class_weights", _class_weight_tensor(class_weights), persistent=False)

    @torch.no_grad()
    def kept_mask(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """(N, H, W) bool: the pixels that enter the loss."""
        valid = targets != self.ignore_value
        q = gt_log_prob(logits, targets, self.ignore_value).exp()
        k = self.min_kept * (targets.shape[0] if self.min_kept_per_image else 1)
        n_valid = int(valid.sum())
        if self.selection == "mmseg":
            ranked = torch.sort(q[valid].float()).values
            floor = ranked[min(k, n_valid - 1)].item() if n_valid else 0.0
            return valid & (q < max(self.thresh, floor))
        if n_valid <= k:
            return valid
        t = self.thresh
        if k > 0:
            kth = torch.kthvalue(q[valid].float(), k).values.item()
            t = max(t, kth)
        return valid & (q <= t)

    def pixel_loss(self, logits: torch.Tensor, targets: torch.Tensor, kept=None) -> torch.Tensor:
        """(N, H, W): ``w_{y_i} l_i`` at kept pixels, 0 elsewhere (its sum over ``Z`` is the
        loss)."""
        if kept is None:
            kept = self.kept_mask(logits, targets)
        loss = -gt_log_prob(logits, targets, self.ignore_value) * kept
        if self.class_weights is not None:
            _check_num_classes(self.class_weights, logits, "OHEM class_weights")
            valid = targets != self.ignore_value
            w = self.class_weights.to(loss.dtype)[torch.where(valid, targets, 0)]
            loss = loss * w
        return loss

    def forward(self, logits: torch.Tensor, targets: torch.Tensor, kept=None) -> torch.Tensor:
        if kept is None:
            kept = self.kept_mask(logits, targets)
        total = self.pixel_loss(logits, targets, kept=kept).sum()
        if self.normalize == "kept":
            return total / kept.sum().clamp(min=1)
        return total / max(targets.numel(), 1)


class SoftmaxFocalLoss(nn.Module):
    """Multi-class softmax focal loss (Lin et al. 2017; docs/methods/losses.md §3).

    ``L = (1/N_v) sum_i v_i alpha_{y_i} (1 - q_i)^gamma (-log q_i)``.

    Defaults: ``gamma=2.0``; ``alpha=None`` (all 1; a per-class list otherwise; the binary
    detection default 0.25 does not carry over). ``gamma=0`` with no alpha is plain CE.
    """

    def __init__(
        self, ignore_value: int = 255, gamma: float = 2.0, alpha: Optional[Sequence[float]] = None
    ):
        super().__init__()
        if gamma < 0:
            raise ValueError(f"focal gamma must be >= 0, got {gamma}.")
        self.ignore_value = ignore_value
        self.gamma = float(gamma)
        self.register_buffer("alpha", _class_weight_tensor(alpha), persistent=False)

    def pixel_loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """(N, H, W) ``alpha_{y_i} (1 - q_i)^gamma l_i``, 0 at ignored pixels."""
        valid = targets != self.ignore_value
        logq = gt_log_prob(logits, targets, self.ignore_value)
        q = logq.exp()
        loss = (1 - q).clamp(min=0) ** self.gamma * (-logq)
        if self.alpha is not None:
            _check_num_classes(self.alpha, logits, "focal alpha")
            idx = torch.where(valid, targets, torch.zeros_like(targets))
            loss = loss * self.alpha.to(logits)[idx]
        return loss * valid

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        n_valid = (targets != self.ignore_value).sum().clamp(min=1)
        return self.pixel_loss(logits, targets).sum() / n_valid


class DistancePenalizedCrossEntropy(nn.Module):
    """Distance-map penalised cross-entropy (Caliva et al. 2019; docs/methods/losses.md §4).

    ``L = (1/N_v) sum_i v_i (1 + scale * D_i) (-log q_i)``, where ``D`` in [0, 1] is 1 on the GT
    boundaries and decays linearly with the distance to them (:func:`dist_penalty_map`, computed
    by the data mapper after augmentation and passed as ``dist_penalty`` (N, H, W)).

    Defaults: ``scale=1.0``. With ``D = 0`` it is plain CE.
    """

    required_inputs = ("dist_penalty",)

    def __init__(self, ignore_value: int = 255, scale: float = 1.0):
        super().__init__()
        self.ignore_value = ignore_value
        self.scale = float(scale)

    def pixel_loss(
        self, logits: torch.Tensor, targets: torch.Tensor, dist_penalty: torch.Tensor
    ) -> torch.Tensor:
        """(N, H, W) ``(1 + scale * D_i) l_i``, 0 at ignored pixels."""
        if dist_penalty.shape != targets.shape:
            raise ValueError(
                f"dist_penalty has shape {tuple(dist_penalty.shape)}, targets "
                f"{tuple(targets.shape)}; the mapper must compute it on the augmented label."
            )
        weight = 1 + self.scale * dist_penalty.to(logits.dtype)
        return -gt_log_prob(logits, targets, self.ignore_value) * weight

    def forward(self, logits, targets, dist_penalty):
        n_valid = (targets != self.ignore_value).sum().clamp(min=1)
        return self.pixel_loss(logits, targets, dist_penalty).sum() / n_valid
