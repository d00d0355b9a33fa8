"""HIAST's target-domain losses on student logits z (N, K, H, W) (docs/methods/hiast.md §6).

The three regularisers keep the official normalisations: R_kld and R_ent divide their sum over
(pixel, class) elements by K * |region|; R_cst divides by the number of non-zero elementwise
terms. A region without pixels gives a zero loss that stays attached to the graph (the official
code returns NaN there).
"""

import torch
import torch.nn.functional as F
from ..precision import float32_island

__all__ = ["pseudo_label_ce", "kld_to_uniform", "entropy_loss", "consistency_loss"]

IGNORE = 255


def _zero(z: torch.Tensor) -> torch.Tensor:
    return z.sum() * 0.0


# fp32 island: the losses in float32
@float32_island
def pseudo_label_ce(z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean CE over pixels with a pseudo-label (labels (N, H, W), 255 = none)."""
    if not (labels != IGNORE).any():
        return _zero(z)
    return F.cross_entropy(z, labels.long(), ignore_index=IGNORE)


# fp32 island: log-softmax over K in float32
@float32_island
def kld_to_uniform(z: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """R_kld = sum_{region} sum_c [-(1/K) log p_c] / (K * |region|); region (N, H, W) bool."""
    n = int(region.sum())
    if n == 0:
        return _zero(z)
    k = z.shape[1]
    logp = F.log_softmax(z, dim=1).permute(0, 2, 3, 1)[region]  # (n, K)
    return (-logp / k).sum() / (k * n)


# fp32 island: log-softmax over K in float32
@float32_island
def entropy_loss(z: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """R_ent = sum_{region} sum_c [-p_c log p_c] / (K * |region|)."""
    n = int(region.sum())
    if n == 0:
        return _zero(z)
    k = z.shape[1]
    logp = F.log_softmax(z, dim=1).permute(0, 2, 3, 1)[region]
    return (-logp.exp() * logp).sum() / (k * n)


# fp32 island: log-softmax over K in float32
@float32_island
def consistency_loss(z: torch.Tensor, q: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """R_cst = sum over (pixel in region, class) of -q_c log p_c, divided by the number of
    non-zero terms; q (N, K, H, W) teacher probabilities (no gradient)."""
    if int(region.sum()) == 0:
        return _zero(z)
    logp = F.log_softmax(z, dim=1).permute(0, 2, 3, 1)[region]
    terms = -q.detach().permute(0, 2, 3, 1)[region] * logp
    nonzero = int((terms != 0).sum())
    if nonzero == 0:
        return _zero(z)
    return terms.sum() / nonzero
