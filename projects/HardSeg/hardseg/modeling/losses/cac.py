"""CAC: the confidence-aware contrastive loss (docs/methods/cac.md §4).

A pure function of the head's tensors; the network side (projection head, weight branch,
warm-up) is :class:`hardseg.modeling.heads.ConfidenceAwareContrastiveHead`.
"""

from typing import List, Optional, Tuple

import torch
from torch.nn import functional as F
from ..precision import float32_island

__all__ = ["cac_loss", "cac_sample_counts", "CLASS_MEAN_MODES"]

CLASS_MEAN_MODES = ("all_slots", "present")


def cac_sample_counts(n: int, num_hard: int, num_easy: int) -> Tuple[int, int]:
    """How many hard and easy pixels one (image, class) keeps for budget ``n``
    (docs/methods/cac.md §4.2 #5): returns ``(n_hard, n_easy)``.

    * both sets have at least n/2 pixels: ``n // 2`` hard, the rest easy;
    * only the hard set does: every easy pixel, hard pixels fill up to ``n``;
    * only the easy set does: every hard pixel, easy pixels fill up to ``n``;
    * neither: every pixel of both (cannot happen with a valid class, see §4.2 #5).
    """
    half = n / 2
    if num_hard >= half and num_easy >= half:
        return n // 2, n - n // 2
    if num_hard >= half:
        return n - num_easy, num_easy
    if num_easy >= half:
        return num_hard, n - num_hard
    return num_hard, num_easy


def _take(indices: torch.Tensor, scores: torch.Tensor, count: int, descending: bool, sort: bool):
    """``count`` of ``indices``: the first by ``scores`` (sorted) or a uniform random subset."""
    if count <= 0:
        return indices[:0]
    if sort:
        order = torch.sort(scores, descending=descending, stable=True).indices
    else:
        order = torch.randperm(indices.numel(), device=indices.device)
    return indices[order[:count]]


def _sample_anchors(
    labels: torch.Tensor,
    probs: torch.Tensor,
    *,
    max_sample: int,
    threshold: int,
    ignore_value: int,
    hard_sort: bool,
    easy_sort: bool,
) -> Optional[List[torch.Tensor]]:
    """Indices into the flattened (N*h*w) pixels of the anchors of every valid (image, class),
    (docs/methods/cac.md §4.2 #3-#6); None when no class is valid.

    labels (N, P) int64; probs (N, P, K) detached main-head probabilities.
    """
    N, P = labels.shape
    pairs = []
    for b in range(N):
        classes, counts = torch.unique(labels[b], return_counts=True)
        for c, count in zip(classes.tolist(), counts.tolist()):
            if c != ignore_value and count > threshold:
                pairs.append((b, c))
    if not pairs:
        return None
    # docs/methods/cac.md §4.2 #4: at least one pixel per pair when pairs outnumber max_sample.
    n = max(1, min(max_sample // len(pairs), threshold))
    predicted = probs.argmax(dim=-1)
    picked = []
    for b, c in pairs:
        is_c = labels[b] == c
        hard = torch.nonzero(is_c & (predicted[b] != c)).flatten()
        easy = torch.nonzero(is_c & (predicted[b] == c)).flatten()
        n_hard, n_easy = cac_sample_counts(n, hard.numel(), easy.numel())
        conf = probs[b, :, c]
        # Hard: misclassified pixels closest to correct first; easy: least confident first.
        picked.append(_take(hard, conf[hard], n_hard, True, hard_sort) + b * P)
        picked.append(_take(easy, conf[easy], n_easy, False, easy_sort) + b * P)
    return picked


# fp32 island: the N x N similarity softmax and its pair weights in float32
@float32_island
def cac_loss(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    seg_logits: torch.Tensor,
    weight_logits: torch.Tensor,
    *,
    max_sample: int = 1024,
    threshold: int = 100,
    temperature: float = 0.1,
    base_temperature: float = 0.07,
    hard_sort: bool = True,
    easy_sort: bool = True,
    class_mean: str = "all_slots",
    ignore_value: int = 255,
) -> torch.Tensor:
    """The CAC term of one process, before its weight alpha (docs/methods/cac.md §4.2).

    Args:
        embeddings: (N, D, h, w) projection-head output, not normalised (normalised here).
        labels: (N, h, w) int64 ground truth at feature resolution (nearest-downsampled),
            ``ignore_value`` at ignored pixels.
        seg_logits: (N, K, h, w) the main head's logits; only used (detached) to pick anchors.
        weight_logits: (N, K, h, w) the weight branch's logits; the pair weights come from their
            softmax and carry gradient.
        max_sample: anchor budget M over the whole batch.
        threshold: a class is sampled in an image if it has more than this many pixels there;
            also the per-(image, class) cap.
        temperature, base_temperature: tau and tau_0; the loss is scaled by tau / tau_0.
        hard_sort, easy_sort: marginal ordering by the main head's confidence (True) or uniform
            random subsets (False).
        class_mean: "all_slots" (the official mean over classes 0..max(sampled label), empty
            slots counting 0) or "present" (mean over the classes that have anchors).
    Returns:
        a scalar (float32, or float64 for float64 inputs). With no valid class: 0, still attached
        to ``embeddings`` and ``weight_logits`` (zero gradient) so every parameter gets a grad.
    """
    if class_mean not in CLASS_MEAN_MODES:
        raise ValueError(f"cac_loss: class_mean={class_mean!r}; choose one of {CLASS_MEAN_MODES}.")
    N, D, h, w = embeddings.shape
    if labels.shape != (N, h, w):
        raise ValueError(
            f"cac_loss: labels {tuple(labels.shape)} must be (N, h, w) = {(N, h, w)}, the "
            "embedding size (downsample the ground truth with 'nearest' first)."
        )
    for name, t in (("seg_logits", seg_logits), ("weight_logits", weight_logits)):
        if t.shape[0] != N or t.shape[2:] != (h, w):
            raise ValueError(f"cac_loss: {name} {tuple(t.shape)} must be (N, K, {h}, {w}).")
    dtype = torch.float64 if embeddings.dtype == torch.float64 else torch.float32
    feats = F.normalize(embeddings.to(dtype), dim=1).permute(0, 2, 3, 1).reshape(N * h * w, D)
    flat_labels = labels.reshape(N, h * w).long()
    K = seg_logits.shape[1]
    with torch.no_grad():
        probs = seg_logits.detach().to(dtype).softmax(dim=1).permute(0, 2, 3, 1).reshape(N, -1, K)
    picked = _sample_anchors(
        flat_labels,
        probs,
        max_sample=max_sample,
        threshold=threshold,
        ignore_value=ignore_value,
        hard_sort=hard_sort,
        easy_sort=easy_sort,
    )
    if picked is None:
        return feats.mean() * 0 + weight_logits.to(dtype).mean() * 0
    index = torch.cat(picked)
    f = feats[index]  # (A, D)
    y = flat_labels.reshape(-1)[index]  # (A,)
    q = weight_logits.to(dtype).softmax(dim=1).permute(0, 2, 3, 1).reshape(N * h * w, K)[index]

    # docs/methods/cac.md §4.2 #7: W_ij = 1 - (q_i[y_j] + q_j[y_i]) / 2, W_ii = 0.
    eye = torch.eye(len(y), dtype=torch.bool, device=y.device)
    m = 1 - q[:, y]  # m[i, j] = 1 - q_i[y_j]
    weights = ((m + m.T) / 2).masked_fill(eye, 0)
    positives = ((y[:, None] == y[None, :]) & ~eye).to(dtype)

    # docs/methods/cac.md §4.2 #8-#9: weighted SupCon, positive mean over the unweighted positive count.
    sim = f @ f.T / temperature
    sim = sim - sim.max(dim=1, keepdim=True).values.detach()
    log_prob = sim - torch.log((weights * sim.exp()).sum(dim=1, keepdim=True) + 1e-16)
    mean_pos = (positives * weights * log_prob).sum(dim=1) / (positives.sum(dim=1) + 1e-16)
    per_anchor = -(temperature / base_temperature) * mean_pos

    # docs/methods/cac.md §4.2 #10: mean per class, then over class slots.
    slots = int(y.max()) + 1
    sums = torch.zeros(slots, dtype=dtype, device=y.device).index_add(0, y, per_anchor)
    counts = torch.zeros(slots, dtype=dtype, device=y.device).index_add(
        0, y, torch.ones_like(per_anchor)
    )
    class_losses = sums / counts.clamp(min=1)
    if class_mean == "all_slots":
        return class_losses.mean()
    return class_losses[counts > 0].mean()
