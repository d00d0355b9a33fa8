"""The hook that updates the EMA teacher of semi-supervised meta-architectures (U2PL)."""

from torch.nn.parallel import DistributedDataParallel

from detectron2.engine.train_loop import HookBase

__all__ = ["TeacherEMAHook", "has_teacher"]


def _unwrap(model):
    return model.module if isinstance(model, DistributedDataParallel) else model


def has_teacher(model) -> bool:
    """Whether ``model`` (DDP-wrapped or not) has an EMA teacher to update after each step."""
    return callable(getattr(_unwrap(model), "update_teacher", None))


class TeacherEMAHook(HookBase):
    """After each optimizer step, calls ``model.update_teacher(iteration)`` on the unwrapped
    model (the meta-architecture owns the schedule and which tensors move). Register it before
    the checkpointer and the evaluation hooks, so they see the updated teacher; both
    ``Trainer.build_hooks`` (YAML) and ``hardseg.engine.lazy.do_train`` (LazyConfig) put it right
    after ``LRScheduler``."""

    def after_step(self):
        _unwrap(self.trainer.model).update_teacher(self.trainer.iter)
