"""Stochastic depth ("drop path", Huang et al. 2016) for residual branches."""

import torch
from torch import nn


class DropPath(nn.Module):
    """In training, zero a residual branch for a random subset of samples (probability ``p``) and
    scale the kept ones by 1 / (1 - p); identity in evaluation or when ``p`` is 0.

    Shapes: ``x`` (N, ...) -> (N, ...); one Bernoulli draw per sample."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"drop-path probability must be in [0, 1), got {p}.")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep
