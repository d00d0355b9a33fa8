"""What every mean-teacher meta-architecture shares: a student and a frozen teacher built from a
registered per-pixel model, copy / EMA teacher updates, the model that evaluates, the checkpoint
layout and the hook contract the trainer calls after each optimizer step.

A method subclasses :class:`TeacherStudent` and writes only its control flow:
:meth:`TeacherStudent.forward_train` (one iteration -> dict of losses) and, when its schedule is
not a constant EMA decay, :meth:`TeacherStudent.teacher_momentum`. U2PL
(:mod:`hardseg.modeling.meta_arch.u2pl`) is one; README.md, "Extending HardSeg", has the recipe.
"""

import logging
from typing import Callable, Optional, Tuple

import torch
from torch import nn

from detectron2.modeling import META_ARCH_REGISTRY
from detectron2.utils.events import get_event_storage

from ..semisup.ema import copy_parameters_, ema_update_
from .hard_segmentor import HardSegmentor

__all__ = ["EVAL_MODELS", "TeacherStudent", "build_per_pixel_model", "build_student_and_teacher"]

logger = logging.getLogger(__name__)

EVAL_MODELS = ("teacher", "student")


def build_per_pixel_model(cfg, method: str) -> HardSegmentor:
    """One branch: the per-pixel model named by ``MODEL.SEMISUP.STUDENT_META_ARCHITECTURE``,
    built by its registry entry from ``cfg`` (with ``MODEL.META_ARCHITECTURE`` set to it).
    ``method`` (e.g. "U2PL") names the caller in error messages."""
    name = cfg.MODEL.SEMISUP.STUDENT_META_ARCHITECTURE
    if name == method:
        raise ValueError(
            f"MODEL.SEMISUP.STUDENT_META_ARCHITECTURE must be a per-pixel model, not {method}"
        )
    inner = cfg.clone()
    inner.defrost()
    inner.MODEL.META_ARCHITECTURE = name
    segmentor = META_ARCH_REGISTRY.get(name)(inner)
    if not isinstance(segmentor, HardSegmentor):
        raise ValueError(
            f"MODEL.SEMISUP.STUDENT_META_ARCHITECTURE={name!r}: {method} wraps per-pixel models "
            "(HardSegmentor and its subclasses, whose head has layers() / losses()); "
            "mask-classification models such as HardMaskFormer are not supported yet."
        )
    return segmentor


def build_student_and_teacher(
    cfg, method: str, wrap: Optional[Callable[[HardSegmentor], nn.Module]] = None
) -> Tuple[nn.Module, nn.Module]:
    """Two independently built (and initialised) branches, student first: each is
    :func:`build_per_pixel_model`, passed through ``wrap`` (e.g. to add an embedding head)."""
    wrap = wrap or (lambda segmentor: segmentor)
    student = wrap(build_per_pixel_model(cfg, method))
    teacher = wrap(build_per_pixel_model(cfg, method))
    return student, teacher


class TeacherStudent(nn.Module):
    """A student trained by the optimizer and a teacher that follows it by EMA.

    Submodules and checkpoint keys: ``student.*``, ``teacher.*`` (two instances of the same
    architecture; the teacher's parameters have ``requires_grad=False``, so optimizers skip them
    and no gradient reaches them) and the buffer ``teacher_synced`` (whether the teacher was ever
    set from the student); a subclass adds its own (U2PL: ``queues.*``). A branch is the
    per-pixel model itself, or a wrapper that holds it at :attr:`segmentor_path` (U2PL:
    "segmentor").

    Loading the checkpoint of a plain per-pixel model (keys ``backbone.*``, ``sem_seg_head.*``,
    ...; e.g. a supervised model as ``MODEL.WEIGHTS``) initialises the per-pixel model of both
    branches with it (values copied, never shared).

    Hook contract: :class:`hardseg.engine.ema_hook.TeacherEMAHook` calls
    :meth:`update_teacher` ``(iteration)`` after each optimizer step (and the LR step), before
    checkpointing and evaluation. Training: :meth:`forward` calls :meth:`forward_train`
    ``(batched_inputs, iteration)``, the iteration read from the event storage. Inference: the
    per-pixel model of the teacher (``eval_model="teacher"``, once synced) or of the student.
    """

    segmentor_path: str = ""

    def __init__(
        self,
        *,
        student: nn.Module,
        teacher: nn.Module,
        eval_model: str = "teacher",
        ema_decay: float = 0.99,
        ema_buffers: bool = False,
    ):
        """
        Args:
            student, teacher: two independently built branches of the same architecture.
            eval_model: "teacher" or "student", the branch that runs at inference.
            ema_decay: the momentum m of the default :meth:`teacher_momentum`.
            ema_buffers: also copy the student's buffers (BN statistics) into the teacher at each
                copy / EMA update (HIAST); False keeps the teacher's own (U2PL).
        """
        super().__init__()
        if eval_model not in EVAL_MODELS:
            raise ValueError(
                f"MODEL.SEMISUP.EVAL_MODEL (eval_model)={eval_model!r}; expected {EVAL_MODELS}."
            )
        self.student = student
        self.teacher = teacher
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        self.eval_model = eval_model
        self.ema_decay = ema_decay
        self.ema_buffers = ema_buffers
        self.register_buffer("teacher_synced", torch.zeros((), dtype=torch.bool))
        self._register_load_state_dict_pre_hook(self._expand_plain_model_keys)

    def _expand_plain_model_keys(self, state_dict, prefix, *args):
        ours = set(self._modules) | set(self._buffers) | set(self._parameters)
        keys = [k for k in state_dict if k.startswith(prefix)]
        if not keys or any(k[len(prefix) :].split(".")[0] in ours for k in keys):
            return
        inner = f"{self.segmentor_path}." if self.segmentor_path else ""
        for k in keys:
            value = state_dict.pop(k)
            rest = k[len(prefix) :]
            state_dict[f"{prefix}student.{inner}{rest}"] = value
            state_dict[f"{prefix}teacher.{inner}{rest}"] = value
        logger.info(
            f"{type(self).__name__}: loading a plain per-pixel model's {len(keys)} tensors into "
            "both the student and the teacher."
        )

    # ------------------------------------------------------------------------------------------
    def per_pixel_model(self, branch: nn.Module) -> nn.Module:
        """The per-pixel model of ``branch`` (``self.student`` or ``self.teacher``)."""
        return branch.get_submodule(self.segmentor_path)

    @property
    def device(self):
        return self.per_pixel_model(self.student).pixel_mean.device

    def forward(self, batched_inputs):
        """Training: :meth:`forward_train` -> dict of losses. Inference: a list of mapper dicts
        -> ``[{"sem_seg": (K, height, width)}]``."""
        if not self.training:
            return self.inference(batched_inputs)
        return self.forward_train(batched_inputs, get_event_storage().iter)

    def forward_train(self, batched_inputs, iteration: int):
        """One training iteration of the method; returns a dict of losses."""
        raise NotImplementedError

    def inference(self, batched_inputs):
        use_teacher = self.eval_model == "teacher" and bool(self.teacher_synced)
        return self.per_pixel_model(self.teacher if use_teacher else self.student)(batched_inputs)

    # ------------------------------------------------------------------------------------------
    @torch.no_grad()
    def copy_teacher_(self) -> None:
        """teacher <- student (parameters; buffers too with ``ema_buffers``)."""
        copy_parameters_(self.teacher, self.student, buffers=self.ema_buffers)
        self.teacher_synced.fill_(True)

    def teacher_momentum(self, iteration: int) -> Optional[float]:
        """The EMA momentum after the optimizer step of ``iteration``, or None for no update.
        Default: ``ema_decay`` at every iteration."""
        return self.ema_decay

    @torch.no_grad()
    def update_teacher(self, iteration: int) -> None:
        """Called after the optimizer step of ``iteration``: teacher params <- m * teacher +
        (1 - m) * student with m = :meth:`teacher_momentum`; buffers copied with
        ``ema_buffers``, else untouched."""
        m = self.teacher_momentum(iteration)
        if m is None:
            return
        ema_update_(self.teacher, self.student, m, buffers=self.ema_buffers)
        self.teacher_synced.fill_(True)
