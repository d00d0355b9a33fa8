"""Cosine annealing with one absolute floor for every parameter group (HIAST rounds,
docs/methods/hiast.md §7)."""

import math
from typing import List

import torch

__all__ = ["SharedFloorCosineLR", "cosine_lr"]


def cosine_lr(base_lr: float, t: int, t_max: int, eta_min: float) -> float:
    """eta_min + (base_lr - eta_min) * (1 + cos(pi * t / t_max)) / 2: the LR of iteration t
    (after t scheduler steps)."""
    return eta_min + (base_lr - eta_min) * (1.0 + math.cos(math.pi * t / t_max)) / 2.0


# detectron2 v0.6 checkpoints a scheduler only if it is a `_LRScheduler`
class SharedFloorCosineLR(torch.optim.lr_scheduler._LRScheduler):
    """Each group goes from its own initial LR to the same ``eta_min`` over ``t_max`` steps.

    The official HIAST optimizer sets eta_min = 1e-3 x the backbone LR for all groups, so the
    x10 classifier group ends at 1e-4 of its own start (docs/methods/hiast.md §7); detectron2's
    LRMultiplier would scale the floor per group instead.
    """

    def __init__(self, optimizer, t_max: int, eta_min: float, last_epoch: int = -1):
        if t_max <= 0:
            raise ValueError(f"SharedFloorCosineLR: t_max={t_max} must be positive")
        self.t_max, self.eta_min = t_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        return [cosine_lr(b, self.last_epoch, self.t_max, self.eta_min) for b in self.base_lrs]
