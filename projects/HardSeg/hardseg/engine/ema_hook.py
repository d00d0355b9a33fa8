"""The hook that updates the EMA teacher of teacher-student meta-architectures (U2PL), and where
it goes in the trainer's hook list.

Contract: a model (DDP-wrapped or not) has a teacher when it has a method
``update_teacher(iteration)``; :class:`hardseg.modeling.meta_arch.TeacherStudent` provides it.
"""

from typing import List, Optional

from torch.nn.parallel import DistributedDataParallel

from detectron2.engine import hooks
from detectron2.engine.train_loop import HookBase

__all__ = ["TeacherEMAHook", "add_teacher_hook", "has_teacher"]


def _unwrap(model):
    return model.module if isinstance(model, DistributedDataParallel) else model


def has_teacher(model) -> bool:
    """Whether ``model`` (DDP-wrapped or not) has an EMA teacher to update after each step."""
    return callable(getattr(_unwrap(model), "update_teacher", None))


class TeacherEMAHook(HookBase):
    """After each optimizer step, calls ``model.update_teacher(iteration)`` on the unwrapped
    model (the meta-architecture owns the schedule and which tensors move). It must run after
    the LR scheduler and before the checkpointer and the evaluation hooks, so they see the
    updated teacher: :func:`add_teacher_hook` puts it there."""

    def after_step(self):
        _unwrap(self.trainer.model).update_teacher(self.trainer.iter)


def add_teacher_hook(model, hook_list: List[Optional[HookBase]]) -> List[Optional[HookBase]]:
    """``hook_list`` with a :class:`TeacherEMAHook` right after its
    :class:`detectron2.engine.hooks.LRScheduler` when ``model`` has a teacher (unchanged
    otherwise). Used by ``Trainer.build_hooks`` (YAML) and ``hardseg.engine.lazy.do_train``."""
    if not has_teacher(model):
        return hook_list
    where = [i for i, h in enumerate(hook_list) if isinstance(h, hooks.LRScheduler)]
    if len(where) != 1:
        raise ValueError(
            f"the hook list has {len(where)} LRScheduler hooks; the EMA teacher's hook goes right "
            "after the only one, before the checkpointer and the evaluation hooks."
        )
    return hook_list[: where[0] + 1] + [TeacherEMAHook()] + hook_list[where[0] + 1 :]
