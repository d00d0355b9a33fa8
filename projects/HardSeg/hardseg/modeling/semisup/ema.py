"""Mean-teacher updates: copy the student into the teacher, or average it in (EMA).

Parameters are paired by position, as in the official U2PL ``train_semi.py``
(``for t, s in zip(teacher.parameters(), student.parameters())``). Buffers are optional:

* ``buffers=False`` (U2PL): the teacher's buffers (BatchNorm running statistics) are its own,
  moved by its train-mode forward passes (maintainer, issue #64 of Haochen-Wang409/U2PL).
* ``buffers=True`` (e.g. HIAST): every buffer of the student, BN statistics and
  ``num_batches_tracked`` included, is copied into the teacher at each update; buffers are
  never averaged.

The momentum schedule belongs to the method (U2PL:
:func:`hardseg.modeling.semisup.reliability.ema_momentum`).
"""

import torch
from torch import nn

__all__ = ["copy_parameters_", "ema_update_"]


def _pairs(teacher: nn.Module, student: nn.Module):
    t, s = list(teacher.parameters()), list(student.parameters())
    if len(t) != len(s) or any(a.shape != b.shape for a, b in zip(t, s)):
        raise ValueError("teacher and student parameters differ in number or shape")
    return zip(t, s)


def _buffer_pairs(teacher: nn.Module, student: nn.Module):
    t, s = dict(teacher.named_buffers()), dict(student.named_buffers())
    if t.keys() != s.keys() or any(t[k].shape != s[k].shape for k in t):
        raise ValueError("teacher and student buffers differ in name or shape")
    return ((t[k], s[k]) for k in t)


@torch.no_grad()
def _copy_buffers_(teacher: nn.Module, student: nn.Module) -> None:
    for t, s in _buffer_pairs(teacher, student):
        t.copy_(s)


@torch.no_grad()
def copy_parameters_(teacher: nn.Module, student: nn.Module, buffers: bool = False) -> None:
    """teacher params <- student params (values copied; the two never share storage, unlike the
    official ``t.data = s.data``, which is equivalent because the copy is redone every step).
    With ``buffers``, the student's buffers are copied too."""
    for t, s in _pairs(teacher, student):
        t.copy_(s)
    if buffers:
        _copy_buffers_(teacher, student)


@torch.no_grad()
def ema_update_(
    teacher: nn.Module, student: nn.Module, momentum: float, buffers: bool = False
) -> None:
    """teacher params <- momentum * teacher + (1 - momentum) * student. Buffers: unchanged, or
    with ``buffers`` copied from the student (not averaged)."""
    for t, s in _pairs(teacher, student):
        t.mul_(momentum).add_(s.detach(), alpha=1.0 - momentum)
    if buffers:
        _copy_buffers_(teacher, student)
