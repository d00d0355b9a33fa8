"""U2PL's pixel contrastive loss with per-class memory queues of unreliable negatives.

See docs/methods/u2pl.md §4.3 and §9 #1-#3 (official
``compute_contra_memobank_loss`` in ``u2pl/utils/loss_helper.py``, after ReCo).

Gradient semantics: only the **anchors** (student embeddings) carry gradient. The positive key
(class prototype: mean *teacher* embedding of the class's reliable pixels) and the negative keys
(*teacher* embeddings from the queue) are detached, as in the official code
(``rep_teacher[...].detach()``, sampling under ``torch.no_grad()``). Teacher probabilities only
select pixels.

Two official behaviours are switches (docs/methods/u2pl.md §9 #2, §13), default official:

* ``label_onehot``: "official" builds the one-hot class maps as ``label_onehot`` in
  ``u2pl/utils/utils.py`` does: every image of a half (labeled rows, unlabeled rows) is written
  into the half's *first* image, so only image 0 of each half has class maps (the union of the
  half's labels, ignored pixels of images 1.. counting as class 0, cleared where image 0 is
  ignored); "per_image": each image's own labels;
* ``class_index``: "official" runs the second loop as ``compute_contra_memobank_loss`` does
  (official issue #111): for the i-th valid class it takes the anchors and the prototype of
  *class id i* but the queue of ``valid_classes[i]``; "per_class": class c's own anchors,
  prototype and queue. With every class valid both agree.

Prototypes are only computed for classes that have reliable pixels (no NaN rows,
docs/methods/u2pl.md §9 #3).
"""

from typing import List, NamedTuple, Optional

import torch
from torch.nn import functional as F

from .memory_queue import ClassMemoryQueues
from ..precision import float32_island

__all__ = [
    "NEGATIVE_RULES",
    "LABEL_ONEHOT_MODES",
    "CLASS_INDEX_MODES",
    "class_maps",
    "rank_window_mask",
    "negative_mask",
    "info_nce",
    "ContrastiveOutput",
    "u2pl_contrastive_loss",
]

NEGATIVE_RULES = ("official", "paper")
LABEL_ONEHOT_MODES = ("official", "per_image")
CLASS_INDEX_MODES = ("official", "per_class")


def class_maps(
    labels: torch.Tensor, num_classes: int, num_labeled: int, mode: str = "official"
) -> torch.Tensor:
    """(N, h, w) int64 labels (labeled rows first; values outside [0, K) are ignored) -> (N, K,
    h, w) bool one-hot class maps.

    "per_image": row n's own one-hot. "official" (``label_onehot`` of the official
    ``u2pl/utils/utils.py``, applied to the labeled and the unlabeled rows separately): row 0 of
    each half holds, at each pixel, every class that any image of the half has there (an ignored
    pixel of another image adds class 0), and nothing where row 0 itself is ignored; the other
    rows of the half are all False.
    """
    if mode not in LABEL_ONEHOT_MODES:
        raise ValueError(
            f"MODEL.SEMISUP.U2PL.LABEL_ONEHOT={mode!r}; expected one of {LABEL_ONEHOT_MODES}."
        )
    valid = (labels >= 0) & (labels < num_classes)
    onehot = F.one_hot(torch.where(valid, labels, 0), num_classes).permute(0, 3, 1, 2).bool()
    if mode == "per_image":
        return onehot & valid[:, None]
    out = torch.zeros_like(onehot)
    for start, stop in ((0, num_labeled), (num_labeled, labels.shape[0])):
        if stop > start:
            out[start] = onehot[start:stop].any(dim=0) & valid[start, None]
    return out


def rank_window_mask(order: torch.Tensor, c: int, lo: int, hi: int) -> torch.Tensor:
    """(N, K, h, w) class indices sorted by descending probability -> (N, h, w) bool: class c's
    rank is in [lo, hi) (rank 0 = most likely)."""
    return (order[:, lo:hi] == c).any(dim=1)


def negative_mask(
    c: int,
    order: torch.Tensor,
    prob_c: torch.Tensor,
    onehot_c: torch.Tensor,
    high: torch.Tensor,
    num_labeled: int,
    low_rank: int = 3,
    high_rank: int = 20,
    negative_prob_thresh: float = 1.0,
    rule: str = "official",
) -> torch.Tensor:
    """Pixels whose teacher embedding becomes a negative key of class c, (N, h, w) bool.

    Args:
        order: (N, K, h, w) teacher class indices sorted by descending probability.
        prob_c: (N, h, w) teacher probability of c. onehot_c: (N, h, w) bool, (pseudo-)label == c.
        high: (N, h, w) bool: labeled rows [:num_labeled] "label != ignore", unlabeled rows the
            unreliable (highest-entropy) pixels.
        rule: "official": ``onehot_c & high & P_c < thresh & (labeled: rank < low_rank and not
            onehot_c [never true]; unlabeled: low_rank <= rank < high_rank)``;
            "paper": labeled valid pixels with label != c and rank < low_rank, unlabeled unreliable
            pixels with low_rank <= rank < high_rank (both also need P_c < thresh).
    """
    if rule not in NEGATIVE_RULES:
        raise ValueError(
            f"MODEL.SEMISUP.U2PL.NEGATIVE_RULE={rule!r}; expected one of {NEGATIVE_RULES}."
        )
    top = rank_window_mask(order[:num_labeled], c, 0, low_rank)
    window = rank_window_mask(order[num_labeled:], c, low_rank, high_rank)
    below = prob_c < negative_prob_thresh
    if rule == "official":
        class_mask = torch.cat([top & ~onehot_c[:num_labeled], window])
        return onehot_c & high & below & class_mask
    labeled = high[:num_labeled] & ~onehot_c[:num_labeled] & top
    unlabeled = high[num_labeled:] & window
    return torch.cat([labeled, unlabeled]) & below


def info_nce(
    anchors: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor, temperature: float
) -> torch.Tensor:
    """Mean over M anchors of ``-log(exp(s+/t) / (exp(s+/t) + sum_j exp(s-_j/t)))`` with cosine
    similarities s.

    Args:
        anchors: (M, D), with grad. positive: (D,) or (M, D). negatives: (M, N, D).
    """
    m = anchors.shape[0]
    positive = positive.expand(m, -1) if positive.dim() == 1 else positive
    keys = torch.cat([positive.unsqueeze(1), negatives], dim=1)  # (M, 1 + N, D)
    logits = F.cosine_similarity(anchors.unsqueeze(1), keys, dim=2) / temperature
    return F.cross_entropy(logits, torch.zeros(m, dtype=torch.long, device=anchors.device))


class ContrastiveOutput(NamedTuple):
    loss: torch.Tensor  # 0-d; 0 * embed.sum() when at most one class is valid
    num_valid_classes: int
    num_terms: int  # classes that contributed a term (anchors and a non-empty queue)
    num_new_keys: List[int]  # per class, after the cross-rank gather


# fp32 island: softmax ranks, InfoNCE and the float32 memory queues stay in float32
@float32_island
def u2pl_contrastive_loss(
    embed: torch.Tensor,
    embed_teacher: torch.Tensor,
    prob_teacher: torch.Tensor,
    labels: torch.Tensor,
    low: torch.Tensor,
    high: torch.Tensor,
    queues: ClassMemoryQueues,
    num_labeled: int,
    *,
    low_rank: int = 3,
    high_rank: int = 20,
    anchor_prob_thresh: float = 0.3,
    negative_prob_thresh: float = 1.0,
    num_queries: int = 256,
    num_negatives: int = 50,
    temperature: float = 0.5,
    negative_rule: str = "official",
    label_onehot: str = "official",
    class_index: str = "official",
    gather: bool = True,
    generator: Optional[torch.Generator] = None,
) -> ContrastiveOutput:
    """U2PL's contrastive loss on one process's batch (labeled rows first), at decoder resolution.

    Args:
        embed: (N, D, h, w) student embeddings (anchors; gradient flows here only).
        embed_teacher: (N, D, h, w) teacher embeddings (prototypes, negative keys; detached).
        prob_teacher: (N, K, h, w) teacher softmax (train-mode pass on the same images).
        labels: (N, h, w) int64: ground truth for rows [:num_labeled], mixed pseudo-labels after;
            any value outside [0, K) (the ignore value) belongs to no class.
        low: (N, h, w) bool, reliable pixels: labeled rows "label != ignore", unlabeled rows the
            lowest-alpha_t entropy share. high: the same for unreliable pixels (highest share).
        queues: the per-class queues; this iteration's negative keys are pushed (gathered across
            ranks when ``gather``) *before* the loss samples from them, as in the official code.

    Class maps: :func:`class_maps` (``label_onehot``). For each class c with reliable pixels
    ("valid"): anchors = student embeddings at reliable pixels labeled c with P_c >
    anchor_prob_thresh, ``num_queries`` of them sampled with replacement; positive = mean teacher
    embedding of the reliable pixels labeled c; ``num_queries * num_negatives`` negatives sampled
    with replacement from queue c; InfoNCE (:func:`info_nce`). With ``class_index="official"``
    the i-th term pairs class i's anchors and prototype with queue ``valid_classes[i]`` (module
    docstring). L = sum of the terms / #valid classes, or 0 (in the graph) when there are at
    most one valid class.
    """
    if class_index not in CLASS_INDEX_MODES:
        raise ValueError(
            f"MODEL.SEMISUP.U2PL.CLASS_INDEX={class_index!r}; expected one of {CLASS_INDEX_MODES}."
        )
    num_classes = prob_teacher.shape[1]
    embed_teacher = embed_teacher.detach()
    prob_teacher = prob_teacher.detach()
    feat = embed.permute(0, 2, 3, 1)  # (N, h, w, D)
    feat_t = embed_teacher.permute(0, 2, 3, 1)
    order = prob_teacher.argsort(dim=1, descending=True)
    onehot = class_maps(labels, num_classes, num_labeled, label_onehot)
    valid_classes, anchors, prototypes, negative_keys = [], {}, {}, []
    for c in range(num_classes):
        onehot_c = onehot[:, c]
        prob_c = prob_teacher[:, c]
        low_valid = onehot_c & low
        neg = negative_mask(
            c,
            order,
            prob_c,
            onehot_c,
            high,
            num_labeled,
            low_rank,
            high_rank,
            negative_prob_thresh,
            negative_rule,
        )
        negative_keys.append(feat_t[neg])
        if low_valid.any():
            valid_classes.append(c)
            anchors[c] = feat[low_valid & (prob_c > anchor_prob_thresh)]
            prototypes[c] = feat_t[low_valid].mean(dim=0)
    new_keys = queues.push_all(negative_keys, gather=gather)  # one gather for all classes
    zero = embed.sum() * 0.0
    if len(valid_classes) <= 1:
        return ContrastiveOutput(zero, len(valid_classes), 0, new_keys)
    loss, terms = zero, 0
    for i, q in enumerate(valid_classes):
        # the anchor/prototype class: q itself, or (official, issue #111) class id i
        c = i if class_index == "official" else q
        if c not in anchors or len(anchors[c]) == 0 or int(queues.length[q]) == 0:
            continue
        idx = torch.randint(len(anchors[c]), (num_queries,), generator=generator)
        anchor = anchors[c][idx.to(embed.device)]
        with torch.no_grad():
            negatives = queues.sample(q, num_queries * num_negatives, generator)
            negatives = negatives.to(embed.dtype).reshape(num_queries, num_negatives, -1)
        loss = loss + info_nce(anchor, prototypes[c], negatives, temperature)
        terms += 1
    return ContrastiveOutput(loss / len(valid_classes), len(valid_classes), terms, new_keys)
