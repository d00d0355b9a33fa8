"""HIAST self-training round on the target domain (docs/methods/hiast.md §1, §6, §7), over any
per-pixel HardSeg model, on the teacher-student base.

Per iteration: the EMA teacher (eval mode, no gradient) predicts q on the weak view; the student
(train mode) predicts z on the strong view; with Ω_c the pseudo-labelled pixels and Ω_i the
others: L = CE(z, y on Ω_c) + w_kld R_kld(Ω_c) + w_ent R_ent(Ω_i) + w_cst R_cst(z, q, Ω_i),
each term logged under its own key. The teacher starts each round as a copy of the student (the
round's MODEL.WEIGHTS is a plain per-pixel model, loaded into both) and follows it by EMA with
the student's buffers copied at every step.
"""

import torch
import torch.nn.functional as F

from detectron2.config import configurable
from detectron2.modeling import META_ARCH_REGISTRY

from ..preprocess import normalize_and_pad, pad_maps
from ..uda.losses import consistency_loss, entropy_loss, kld_to_uniform, pseudo_label_ce
from .teacher_student import TeacherStudent, build_student_and_teacher

__all__ = ["HIAST"]


@META_ARCH_REGISTRY.register()
class HIAST(TeacherStudent):
    """Inputs: mapper dicts with "image" (weak view), "image_strong" and "sem_seg" (pseudo-label,
    255 = none) from :class:`hardseg.data.mappers.TwoViewTargetMapper`. Losses:
    ``loss_sem_seg_tgt``, ``loss_kld_conf``, ``loss_ent_ign``, ``loss_cst``."""

    @configurable
    def __init__(
        self,
        *,
        student,
        teacher,
        ema_decay: float = 0.999,
        eval_model: str = "teacher",
        ce_weight: float = 1.0,
        kld_weight: float = 0.1,
        ent_weight: float = 1.0,
        cst_weight: float = 0.5,
    ):
        super().__init__(
            student=student,
            teacher=teacher,
            eval_model=eval_model,
            ema_decay=ema_decay,
            ema_buffers=True,
        )
        self.weights = {"ce": ce_weight, "kld": kld_weight, "ent": ent_weight, "cst": cst_weight}

    @classmethod
    def from_config(cls, cfg):
        student, teacher = build_student_and_teacher(cfg, "HIAST")
        h = cfg.MODEL.UDA.HIAST
        return {
            "student": student,
            "teacher": teacher,
            "ema_decay": h.EMA_DECAY,
            "eval_model": cfg.MODEL.SEMISUP.EVAL_MODEL,
            "ce_weight": h.LOSS.CE,
            "kld_weight": h.LOSS.KLD,
            "ent_weight": h.LOSS.ENT,
            "cst_weight": h.LOSS.CST,
        }

    def _logits(self, model, images: torch.Tensor) -> torch.Tensor:
        """Normalised images (N, 3, H, W) -> logits (N, K, H, W), upsampled bilinearly with the
        head's ``align_corners``."""
        head = model.sem_seg_head
        z = head.layers(model.backbone(images))
        return F.interpolate(
            z,
            size=images.shape[-2:],
            mode="bilinear",
            align_corners=getattr(head, "align_corners", False),
        )

    def forward_train(self, batched_inputs, iteration: int):
        if any("image_strong" not in x or "sem_seg" not in x for x in batched_inputs):
            raise ValueError(
                "HIAST trains on two views with a pseudo-label ('image', 'image_strong', "
                "'sem_seg'); set INPUT.DATASET_MAPPER_NAME: 'two_view_target'."
            )
        if not bool(self.teacher_synced):
            self.copy_teacher_()
        student, teacher = self.student, self.teacher
        div = student.backbone.size_divisibility
        mean, std = student.pixel_mean, student.pixel_std
        weak = normalize_and_pad([x["image"] for x in batched_inputs], mean, std, div).tensor
        strong = normalize_and_pad([x["image_strong"] for x in batched_inputs], mean, std, div)
        strong = strong.tensor
        labels = pad_maps(
            [x["sem_seg"].to(self.device) for x in batched_inputs],
            tuple(weak.shape[-2:]),
            student.sem_seg_head.ignore_value,
        )
        was_training = teacher.training
        teacher.eval()
        with torch.no_grad():
            q = self._logits(teacher, weak).float().softmax(dim=1)
        teacher.train(was_training)
        z = self._logits(student, strong).float()
        ignore = student.sem_seg_head.ignore_value
        conf, ign = labels != ignore, labels == ignore
        w = self.weights
        return {
            "loss_sem_seg_tgt": w["ce"] * pseudo_label_ce(z, torch.where(conf, labels, 255)),
            "loss_kld_conf": w["kld"] * kld_to_uniform(z, conf),
            "loss_ent_ign": w["ent"] * entropy_loss(z, ign),
            "loss_cst": w["cst"] * consistency_loss(z, q, ign),
        }
