"""Semantic segmentation from mask classification (MaskFormer, Cheng et al. 2021, eq. 4).

Dimension legend: Q predictions; K classes (K+1 logits, the last "no object"); (H, W) size.
"""

import torch

__all__ = ["semantic_inference"]


def semantic_inference(mask_cls: torch.Tensor, mask_pred: torch.Tensor) -> torch.Tensor:
    """``sem_seg[k] = sum_q softmax(mask_cls[q])[k] * sigmoid(mask_pred[q])`` for k < K (the
    "no object" probability is dropped after the softmax).

    Args:
        mask_cls: (Q, K+1) class logits.
        mask_pred: (Q, H, W) mask logits.
    Returns:
        (K, H, W) non-negative class scores, **not** logits or probabilities (they do not sum
        to 1 over K): fine for argmax and SemSegEvaluator, not for anything that needs
        log-probabilities.
    """
    prob = mask_cls.float().softmax(-1)[:, :-1]
    return torch.einsum("qk,qhw->khw", prob, mask_pred.float().sigmoid())
