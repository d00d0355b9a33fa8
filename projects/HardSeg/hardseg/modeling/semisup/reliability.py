"""Reliable / unreliable pixels by entropy percentile, U2PL's schedules and the reliable-pixel CE.

See docs/methods/u2pl.md §4.2 and §5 (official ``train_semi.py`` and
``compute_unsupervised_loss`` in ``u2pl/utils/loss_helper.py``). Pure functions of tensors and
numbers; no config access. Everything here runs on teacher outputs and is computed without grad,
except :func:`reliable_pseudo_label_loss`, whose gradient reaches the student logits only.
"""

import math
from typing import NamedTuple

import torch
from torch.nn import functional as F
from ..precision import float32_island

__all__ = [
    "u2pl_epoch",
    "unreliable_percent",
    "ema_momentum",
    "entropy_map",
    "percentile",
    "EntropyPartition",
    "entropy_partition",
    "ANCHOR_RULES",
    "anchor_candidates",
    "reliable_pseudo_label_loss",
]

ENTROPY_EPS = 1e-10  # official: -sum p * log(p + 1e-10)


def u2pl_epoch(iteration: int, epoch_iters: int) -> int:
    """0-based epoch of an iteration: ``iteration // epoch_iters``."""
    if epoch_iters <= 0:
        raise ValueError(f"epoch_iters={epoch_iters} must be > 0 (MODEL.SEMISUP.EPOCH_ITERS)")
    return iteration // epoch_iters


def unreliable_percent(epoch: int, total_epochs: float, alpha0: float = 20.0) -> float:
    """alpha_t = alpha0 * (1 - e / E), in percent (DPA, docs/methods/u2pl.md §5): the dropped share
    of L_u and the anchor / negative-candidate shares. Constant within an epoch; alpha0 at e = 0."""
    return alpha0 * (1.0 - epoch / total_epochs)


def ema_momentum(iteration: int, start_iter: int, decay: float = 0.99) -> float:
    """m = min(1 - 1/(k + 1), decay) with k = iteration - start_iter (official ``train_semi.py``);
    0 at k = 0 (the teacher becomes the student), ``decay`` once k >= 1/(1 - decay) - 1."""
    k = iteration - start_iter
    if k < 0:
        raise ValueError(f"EMA before its start: iteration {iteration} < {start_iter}")
    return min(1.0 - 1.0 / (k + 1), decay)


# fp32 island: bfloat16 entropies tie, and the percentile partition then breaks
@float32_island
def entropy_map(prob: torch.Tensor) -> torch.Tensor:
    """(N, K, H, W) probabilities -> (N, H, W) entropy ``-sum_c p_c log(p_c + 1e-10)``."""
    return -(prob * torch.log(prob + ENTROPY_EPS)).sum(dim=1)


def percentile(values: torch.Tensor, q: float) -> torch.Tensor:
    """``numpy.percentile(values, q)`` (linear interpolation) of a 1-D tensor, as a 0-d tensor on
    its device; no size limit (unlike ``torch.quantile``). ``+inf`` for an empty tensor, so a
    ``>= threshold`` test selects nothing."""
    n = values.numel()
    if n == 0:
        return torch.tensor(math.inf, device=values.device, dtype=values.dtype)
    s = torch.sort(values.reshape(-1).double()).values
    pos = min(max(q, 0.0), 100.0) / 100.0 * (n - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    v = s[lo] + (s[hi] - s[lo]) * (pos - lo)
    return v.to(values.dtype)


class EntropyPartition(NamedTuple):
    """Masks (N, H, W) bool over the unlabeled pixels; see :func:`entropy_partition`."""

    reliable: torch.Tensor  # valid & entropy < high_thresh: kept in L_u
    low: torch.Tensor  # valid & entropy <= low_thresh: anchor / prototype candidates
    high: torch.Tensor  # valid & entropy >= high_thresh: dropped from L_u, negative candidates
    low_thresh: torch.Tensor  # 0-d
    high_thresh: torch.Tensor  # 0-d


@torch.no_grad()
# fp32 island: percentiles and comparisons of the entropies in float32
@float32_island
def entropy_partition(entropy: torch.Tensor, valid: torch.Tensor, alpha: float) -> EntropyPartition:
    """Split the valid unlabeled pixels of this process's batch by entropy percentiles.

    Args:
        entropy: (N, H, W) teacher entropy (official: train-mode teacher on the mixed images).
        valid: (N, H, W) bool, pseudo-label != ignore.
        alpha: alpha_t in percent.

    ``low_thresh`` = percentile(entropy[valid], alpha), ``high_thresh`` = percentile(entropy[valid],
    100 - alpha) (official ``np.percentile``). ``high`` uses ``>=`` and ``low`` ``<=`` as the
    official code does; ``reliable`` = valid and not ``high``.
    """
    v = entropy[valid]
    low_thresh = percentile(v, alpha)
    high_thresh = percentile(v, 100.0 - alpha)
    high = (entropy >= high_thresh) & valid
    low = (entropy <= low_thresh) & valid
    return EntropyPartition(valid & ~high, low, high, low_thresh, high_thresh)


ANCHOR_RULES = ("official", "reliable")


def anchor_candidates(partition: EntropyPartition, rule: str = "official") -> torch.Tensor:
    """(N, H, W) bool: the unlabeled pixels that may give anchors and prototypes.
    "official": the lowest-alpha_t entropy share (``low``; it shrinks to almost nothing late in
    training, docs/methods/u2pl.md §9 #4); "reliable": every reliable pixel
    (the paper's wording)."""
    if rule not in ANCHOR_RULES:
        raise ValueError(
            f"MODEL.SEMISUP.U2PL.ANCHOR_RULE={rule!r}; expected one of {ANCHOR_RULES}."
        )
    return partition.low if rule == "official" else partition.reliable


# fp32 island: the unsupervised loss in float32
@float32_island
def reliable_pseudo_label_loss(
    logits: torch.Tensor, pseudo_labels: torch.Tensor, reliable: torch.Tensor, ignore_value=255
) -> torch.Tensor:
    """L_u (docs/methods/u2pl.md §4.2): CE on the reliable pixels times the
    official factor N*H*W / N_kept.

    Args:
        logits: (N, K, H, W) student logits at label resolution (gradient flows into them).
        pseudo_labels: (N, H, W) int64 teacher pseudo-labels (no grad), ignore_value allowed.
        reliable: (N, H, W) bool, the pixels kept (see :func:`entropy_partition`).

    Returns ``(N*H*W / N_kept) * mean_{kept} CE``; 0 (kept in the graph) when nothing is kept.
    """
    target = torch.where(reliable, pseudo_labels, torch.full_like(pseudo_labels, ignore_value))
    kept = int(reliable.sum())
    if kept == 0:
        return logits.sum() * 0.0
    weight = target.numel() / kept
    return weight * F.cross_entropy(logits, target, ignore_index=ignore_value)
