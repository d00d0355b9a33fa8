"""Mean-teacher parameter updates (docs/methods/u2pl.md §5 and §9 #5-#6).

Only *parameters* are copied or averaged, as in the official ``train_semi.py``
(``for t, s in zip(teacher.parameters(), student.parameters())``): the teacher's BatchNorm running
statistics are its own, moved by its train-mode forward passes (maintainer, issue #64). The
momentum schedule is :func:`hardseg.modeling.semisup.reliability.ema_momentum`.
"""

import torch
from torch import nn

__all__ = ["copy_parameters_", "ema_update_"]


def _pairs(teacher: nn.Module, student: nn.Module):
    t, s = list(teacher.parameters()), list(student.parameters())
    if len(t) != len(s) or any(a.shape != b.shape for a, b in zip(t, s)):
        raise ValueError("teacher and student parameters differ in number or shape")
    return zip(t, s)


@torch.no_grad()
def copy_parameters_(teacher: nn.Module, student: nn.Module) -> None:
    """teacher params <- student params (values copied; the two never share storage, unlike the
    official ``t.data = s.data``, which is equivalent because the copy is redone every step)."""
    for t, s in _pairs(teacher, student):
        t.copy_(s)


@torch.no_grad()
def ema_update_(teacher: nn.Module, student: nn.Module, momentum: float) -> None:
    """teacher params <- momentum * teacher + (1 - momentum) * student. No buffer changes."""
    for t, s in _pairs(teacher, student):
        t.mul_(momentum).add_(s.detach(), alpha=1.0 - momentum)
