"""U2PL: semi-supervised segmentation with unreliable pseudo-labels (Wang et al., CVPR 2022).

See docs/methods/u2pl.md (official code Haochen-Wang409/U2PL ``main`` @ab3d2be,
``train_semi.py``). This module is control flow only; the pieces live in
:mod:`hardseg.modeling.semisup`.

HL composes with U2PL through the student's head (``MODEL.SEM_SEG_HEAD.NAME = "HardnessHead"``):
only the supervised loss on the labeled rows is HL-weighted, as :class:`HardnessHead` weights it
for a plain model. The choices and their reasons are in docs/methods/u2pl.md §12.
"""

from functools import partial
from typing import Dict, List

import torch
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.modeling import META_ARCH_REGISTRY
from detectron2.utils import comm
from detectron2.utils.events import get_event_storage

from ..heads.hardness_head import HardnessHead
from ..preprocess import batch_loss_inputs, normalize_and_pad, pad_maps
from ..precision import float32_region
from ..semisup.contrastive import u2pl_contrastive_loss
from ..semisup.memory_queue import ClassMemoryQueues
from ..semisup.reliability import (
    anchor_candidates,
    ema_momentum,
    entropy_map,
    entropy_partition,
    reliable_pseudo_label_loss,
    u2pl_epoch,
    unreliable_percent,
)
from ..semisup.resize import resize_bilinear, resize_nearest
from ..semisup.rep_head import SegmentorWithEmbed, add_embedding_head
from ..semisup.strong_aug import mix_unlabeled_batch
from .teacher_student import TeacherStudent, build_student_and_teacher
from .u2pl_config import QUEUE_DTYPES, U2PLConfig

__all__ = ["U2PL", "U2PLConfig"]


@META_ARCH_REGISTRY.register()
class U2PL(TeacherStudent):
    """Mean teacher + entropy-filtered pseudo-labels + contrastive loss on unreliable negatives.

    A :class:`TeacherStudent` whose branches are :class:`SegmentorWithEmbed` (the per-pixel
    model at ``segmentor``, plus an embedding head), with ``queues`` (:class:`ClassMemoryQueues`,
    registered buffers) added to the checkpoint.

    Training input: ``{"labeled": [dicts with "image" (3, H, W), "sem_seg" (H, W)], "unlabeled":
    [dicts with "image"]}`` from :func:`hardseg.data.semisup_loader.build_semisup_train_loader`;
    images of both streams are padded to one size. The iteration comes from the event storage.
    One iteration (docs/methods/u2pl.md §3), with e = iter // epoch_iters and S = sup_only_epochs:

    * e < S: ``loss_sem_seg`` (+ ``loss_aux``) of the student on the labeled batch; the teacher
      runs in train mode on it (BN statistics only); the other losses are 0 (kept in the graph).
    * e >= S: (if e == S, teacher params <- student params, every iteration of that epoch)
      pseudo-labels from the eval-mode teacher on the clean unlabeled batch; with probability
      ``mix_prob`` the unlabeled batch and its pseudo-labels/confidences are mixed
      (CutMix/CutOut/ClassMix); the student runs once on [labeled, mixed unlabeled]; the teacher
      runs in *train* mode, without grad, on the same batch, and gives the entropy (for the DPA
      partition), the probabilities (anchors, ranks) and the embeddings (prototypes, negatives);
      losses ``loss_sem_seg`` (the head's own loss: CE, OHEM, ...; HL-weighted, plus
      ``loss_hardness``, when the head is a :class:`HardnessHead`), ``loss_sem_seg_unsup``
      (:func:`reliable_pseudo_label_loss`) and ``loss_contrast``
      (:func:`u2pl_contrastive_loss`).

    The EMA update (parameters only, momentum :meth:`teacher_momentum`) happens after the
    optimizer step, in :meth:`TeacherStudent.update_teacher`, called by
    :class:`hardseg.engine.ema_hook.TeacherEMAHook`. Options: :class:`U2PLConfig`.

    Gradient semantics: nothing reaches the teacher; pseudo-labels, entropy, probabilities,
    prototypes and negative keys are teacher outputs computed under ``no_grad``; in the
    contrastive loss only the anchors (student embeddings) carry gradient.

    HL (module docstring): ``loss_hardness`` reaches only the student's HL branch, and the other
    losses never reach it; the teacher's HL branch is EMA'd but never run.
    """

    segmentor_path = "segmentor"

    @configurable
    def __init__(self, *, student: SegmentorWithEmbed, teacher: SegmentorWithEmbed, config):
        """``student`` and ``teacher``: two independently built :class:`SegmentorWithEmbed`;
        ``config``: a :class:`U2PLConfig`."""
        super().__init__(
            student=student,
            teacher=teacher,
            eval_model=config.eval_model,
            ema_decay=config.ema_decay,
            ema_buffers=False,  # the teacher's BN statistics are its own
        )
        self.config = config
        self.ignore_value = config.ignore_value
        # HL on the labeled batch (module docstring); the teacher's HL branch is never run.
        self.hardness = isinstance(student.segmentor.sem_seg_head, HardnessHead)
        capacities = [config.queue_size_class0] + [config.queue_size] * (config.num_classes - 1)
        self.queues = ClassMemoryQueues(
            config.num_classes, student.rep_head.dim, capacities, QUEUE_DTYPES[config.queue_dtype]
        )

    @classmethod
    def from_config(cls, cfg):
        config = U2PLConfig.from_config(cfg)
        student, teacher = build_student_and_teacher(cfg, "U2PL", partial(add_embedding_head, cfg))
        return {"student": student, "teacher": teacher, "config": config}

    @property
    def semi_start_iter(self) -> int:
        """First iteration of the semi-supervised phase (S * epoch_iters)."""
        return self.config.semi_start_iter

    def teacher_momentum(self, iteration: int):
        """m = min(1 - 1/(k + 1), ema_decay), k = iteration - S * epoch_iters; None (no update)
        before the semi-supervised phase. Buffers (BN statistics) are not touched."""
        if iteration < self.semi_start_iter:
            return None
        return ema_momentum(iteration, self.semi_start_iter, self.config.ema_decay)

    # ------------------------------------------------------------------------------------------
    def _images_and_targets(self, labeled: List[dict], unlabeled: List[dict]):
        """Normalised images of both streams padded to one size (N_l + N_u, 3, H, W), labeled
        targets (N_l, H, W) padded with the ignore value, and a (N_u, H, W) bool mask of the
        unlabeled pixels that belong to an image (not padding)."""
        seg = self.student.segmentor
        images = normalize_and_pad(
            [x["image"] for x in labeled + unlabeled],
            seg.pixel_mean,
            seg.pixel_std,
            seg.backbone.size_divisibility,
        )
        h, w = images.tensor.shape[-2:]
        targets = pad_maps(
            [x["sem_seg"].to(self.device) for x in labeled], (h, w), self.ignore_value
        )
        inside = torch.zeros((len(unlabeled), h, w), dtype=torch.bool, device=self.device)
        for i, (ih, iw) in enumerate(images.image_sizes[len(labeled) :]):
            inside[i, :ih, :iw] = True
        return images.tensor, targets, inside

    def _supervised_losses(self, out, targets, labeled, n) -> Dict[str, torch.Tensor]:
        """The student's own head loss (and aux loss) on the labeled rows ``[:n]``; with a
        :class:`HardnessHead`, the HL-weighted loss and ``loss_hardness`` of its ``losses``
        (weights normalised over the labeled rows)."""
        seg = self.student.segmentor
        head = seg.sem_seg_head
        loss_inputs = batch_loss_inputs(
            labeled, getattr(head, "required_loss_inputs", ()), targets.shape[-2:], self.device
        )
        labeled_features = {k: v[:n] for k, v in out["features"].items()}
        losses = dict(
            head.losses(
                out["sem_seg_logits"][:n],
                targets,
                features=labeled_features,  # HL's branch reads them (module docstring)
                loss_inputs=loss_inputs,
            )
        )
        if "aux_logits" in out:
            aux = seg.aux_head.losses(out["aux_logits"][:n], targets, features=labeled_features)
            losses["loss_aux"] = aux["loss_sem_seg"]
        return losses

    def forward_train(self, batched_inputs, iteration: int):
        """One U2PL iteration (see the class docstring) on ``{"labeled": [...], "unlabeled":
        [...]}``; returns the loss dict."""
        if not isinstance(batched_inputs, dict) or {"labeled", "unlabeled"} - set(batched_inputs):
            raise ValueError(
                "U2PL trains on {'labeled': [...], 'unlabeled': [...]} batches; set "
                "DATASETS.TRAIN_UNLABELED so the Trainer builds the two-stream loader "
                "(hardseg.data.semisup_loader.build_semisup_train_loader)."
            )
        labeled, unlabeled = batched_inputs["labeled"], batched_inputs["unlabeled"]
        c = self.config
        images, targets, inside = self._images_and_targets(labeled, unlabeled)
        n_l = len(labeled)
        size = tuple(images.shape[-2:])
        epoch = u2pl_epoch(iteration, c.epoch_iters)
        if epoch < c.sup_only_epochs:
            out = self.student(images[:n_l])
            losses = self._supervised_losses(out, targets, labeled, n_l)
            with torch.no_grad():  # moves the teacher's BN statistics only
                self.teacher.train()
                self.teacher(images[:n_l])
            zero = out["embed"].sum() * 0.0
            losses.update(loss_sem_seg_unsup=zero, loss_contrast=zero)
            return losses

        if epoch == c.sup_only_epochs:
            self.copy_teacher_()
        x_l, x_u = images[:n_l], images[n_l:]
        # 1) pseudo-labels: eval-mode teacher on the clean unlabeled batch
        with torch.no_grad():
            self.teacher.eval()
            logits_u = self.teacher(x_u)["sem_seg_logits"].float()
            self.teacher.train()
            with float32_region(logits_u.device.type):  # fp32 island: pseudo-label softmax
                prob_u = F.softmax(resize_bilinear(logits_u, size, c.align_corners), dim=1)
            conf_u, pseudo = prob_u.max(dim=1)
            pseudo = torch.where(inside, pseudo, torch.full_like(pseudo, self.ignore_value))
            # 2) strong mix, one coin per iteration
            mixed = bool(torch.rand(()) < c.mix_prob) and c.mix != "none"
            if mixed:
                x_u, pseudo, conf_u = mix_unlabeled_batch(
                    x_u, pseudo, conf_u, c.mix, c.mix_area_ratio, self.ignore_value
                )
        # 3) student on [labeled, mixed unlabeled]
        x_all = torch.cat([x_l, x_u])
        out = self.student(x_all)
        logits = out["sem_seg_logits"]
        losses = self._supervised_losses(out, targets, labeled, n_l)
        # 4) teacher, train mode, no grad, same batch
        with torch.no_grad():
            out_t = self.teacher(x_all)
            logits_t = out_t["sem_seg_logits"].float()
            # fp32 island: the teacher's softmax and entropies (in bfloat16 an untrained model
            # ties every entropy and the percentile partition marks every pixel unreliable)
            with float32_region(logits_t.device.type):
                prob_t = F.softmax(logits_t, dim=1)
                entropy = entropy_map(
                    F.softmax(resize_bilinear(logits_t[n_l:], size, c.align_corners), dim=1)
                )
            alpha = unreliable_percent(epoch, c.total_epochs, c.alpha0)
            part = entropy_partition(entropy, pseudo != self.ignore_value, alpha)
        # 5) unsupervised loss on reliable pixels
        losses["loss_sem_seg_unsup"] = c.unsup_weight * reliable_pseudo_label_loss(
            resize_bilinear(logits[n_l:], size, c.align_corners),
            pseudo,
            part.reliable,
            self.ignore_value,
        )
        # 6) contrastive loss at decoder resolution
        with torch.no_grad():
            small = tuple(logits.shape[-2:])
            labels = resize_nearest(torch.cat([targets, pseudo]), small)
            labeled_valid = targets != self.ignore_value
            anchors_u = anchor_candidates(part, c.anchor_rule)
            low = resize_nearest(torch.cat([labeled_valid, anchors_u]), small).bool()
            high = resize_nearest(torch.cat([labeled_valid, part.high]), small).bool()
        contrast = u2pl_contrastive_loss(
            out["embed"],
            out_t["embed"],
            prob_t,
            labels,
            low,
            high,
            self.queues,
            n_l,
            **c.contrast_kwargs,
        )
        weight = c.contrast_weight
        if c.contrast_divide_by_world_size:
            weight = weight / comm.get_world_size()
        losses["loss_contrast"] = weight * contrast.loss

        storage = get_event_storage()
        storage.put_scalars(
            **{
                "u2pl/alpha": alpha,
                "u2pl/mixed": float(mixed),
                "u2pl/reliable_ratio": float(part.reliable.sum()) / max(int(inside.sum()), 1),
                "u2pl/valid_classes": contrast.num_valid_classes,
                "u2pl/contrast_terms": contrast.num_terms,
                "u2pl/queue_fill": float(self.queues.length.float().mean()),
            }
        )
        return losses
