"""U2PL: semi-supervised segmentation with unreliable pseudo-labels (Wang et al., CVPR 2022).

See docs/methods/u2pl.md (official code Haochen-Wang409/U2PL ``main`` @ab3d2be,
``train_semi.py``). This module is control flow only; the pieces live in
:mod:`hardseg.modeling.semisup`.

HL (docs/methods/hl.md §4) composes with U2PL through the student's head: with
``MODEL.SEM_SEG_HEAD.NAME = "HardnessHead"`` (and ``MODEL.HARDNESS.ENABLED``) the supervised loss on
the labeled rows is HL-weighted exactly as :class:`HardnessHead` weights it for a plain model.
The official HL code has no semi-supervised integration (docs/methods/hl.md §8 #13); the choices
here, and why:

* Only the supervised term is weighted, and the HL branch sees only labeled pixels. Its
  objective ``-lambda * sum(w * sg(l))`` needs a per-pixel loss against ground truth: it learns
  to raise the weight of the pixels whose loss stays high. Against pseudo-labels, the pixels with
  the highest loss are mostly those whose pseudo-label is wrong, so HL would amplify exactly the
  noise that U2PL's entropy filter removes.
* ``loss_sem_seg_unsup`` keeps U2PL's own pixel selection and normalisation (reliable pixels,
  factor B*H*W / N_kept, docs/methods/u2pl.md §4.2) and ``loss_contrast`` (a per-anchor InfoNCE,
  with no per-pixel loss map to weight) is unchanged, so U2PL + HL differs
  from U2PL in one term only.
* The weights are normalised over the labeled per-process batch (n_l * H * W pixels, padding and
  ignored pixels included), as :class:`HardnessHead` does for a plain model fed that batch. The
  HL branch runs on the detached backbone features of the labeled rows only (so its BatchNorm
  statistics come from labeled images); the decode head, as in plain U2PL, runs once on
  [labeled, unlabeled]. Auxiliary heads are not weighted (as in HardSegmentor).
* The teacher is built like the student, so it holds an HL branch too, but never runs it: its
  passes call ``head.layers()`` (the decode head) and HardnessHead's inference is the decode head
  alone. Its HL parameters are copied / EMA-averaged with all the others (the official loop
  zips every parameter). Keeping them, rather than building a plain teacher, keeps student and
  teacher parameter lists and checkpoint keys identical (positional EMA, a plain HL checkpoint
  initialising both, ``teacher.segmentor.*`` loading as a complete HL model); the cost is one
  small head's memory. Drop the ``hl.*`` keys to export a plain model.
"""

import contextlib
import logging
from typing import Dict, List

import torch
from torch import nn
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.modeling import META_ARCH_REGISTRY
from detectron2.structures import ImageList
from detectron2.utils import comm
from detectron2.utils.events import get_event_storage

from ..heads.hardness_head import HardnessHead
from ..semisup.contrastive import NEGATIVE_RULES, u2pl_contrastive_loss
from ..semisup.ema import copy_parameters_, ema_update_
from ..semisup.memory_queue import ClassMemoryQueues
from ..semisup.reliability import (
    ANCHOR_RULES,
    anchor_candidates,
    ema_momentum,
    entropy_map,
    entropy_partition,
    reliable_pseudo_label_loss,
    u2pl_epoch,
    unreliable_percent,
)
from ..semisup.rep_head import RepresentationHead, SegmentorWithEmbed, embed_input_module
from ..semisup.strong_aug import MIX_MODES, mix_unlabeled_batch
from ..sync_bn import sync_bn_fallback
from .hard_segmentor import HardSegmentor

__all__ = ["U2PL", "build_segmentor_with_embed"]

logger = logging.getLogger(__name__)

EVAL_MODELS = ("teacher", "student")
QUEUE_DTYPES = {"float32": torch.float32, "float16": torch.float16}


def build_segmentor_with_embed(cfg) -> SegmentorWithEmbed:
    """The student (or teacher): ``MODEL.SEMISUP.STUDENT_META_ARCHITECTURE`` built from ``cfg``
    by its registry entry, plus the embedding head of ``MODEL.SEMISUP.U2PL.EMBED_*``."""
    name = cfg.MODEL.SEMISUP.STUDENT_META_ARCHITECTURE
    if name == "U2PL":
        raise ValueError(
            "MODEL.SEMISUP.STUDENT_META_ARCHITECTURE must be a per-pixel model, not U2PL"
        )
    inner = cfg.clone()
    inner.defrost()
    inner.MODEL.META_ARCHITECTURE = name
    segmentor = META_ARCH_REGISTRY.get(name)(inner)
    if not isinstance(segmentor, HardSegmentor):
        raise ValueError(
            f"MODEL.SEMISUP.STUDENT_META_ARCHITECTURE={name!r}: U2PL wraps per-pixel models "
            "(HardSegmentor and its subclasses, whose head has layers() / losses()); "
            "mask-classification models such as HardMaskFormer are not supported yet."
        )
    u = cfg.MODEL.SEMISUP.U2PL
    _, channels = embed_input_module(segmentor.sem_seg_head, u.EMBED_IN_FEATURE)
    rep_head = RepresentationHead(channels, u.EMBED_DIM, u.EMBED_DROPOUT, u.EMBED_NORM)
    sync_bn_fallback(rep_head, cfg.MODEL.DEVICE)
    return SegmentorWithEmbed(segmentor, rep_head, u.EMBED_IN_FEATURE)


@META_ARCH_REGISTRY.register()
class U2PL(nn.Module):
    """Mean teacher + entropy-filtered pseudo-labels + contrastive loss on unreliable negatives.

    Submodules (all created in ``__init__``, all in the checkpoint): ``student`` and ``teacher``
    (:class:`SegmentorWithEmbed`, same architecture; the teacher's parameters have
    ``requires_grad=False``, so optimizers skip them and no gradient ever reaches them), ``queues``
    (:class:`ClassMemoryQueues`, registered buffers) and the buffer ``teacher_synced`` (whether the
    teacher was ever set from the student).

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

    The EMA update (parameters only) happens after the optimizer step, in :meth:`update_teacher`,
    called by :class:`hardseg.engine.ema_hook.TeacherEMAHook`.

    Gradient semantics: nothing reaches the teacher; pseudo-labels, entropy, probabilities,
    prototypes and negative keys are teacher outputs computed under ``no_grad``; in the
    contrastive loss only the anchors (student embeddings) carry gradient.

    Inference: the teacher's (``eval_model="teacher"``, once synced) or the student's per-pixel
    model, ``[{"sem_seg": (K, height, width)}]``.

    HL: when the student's head is a :class:`HardnessHead`, :meth:`_supervised_losses` returns
    the HL-weighted ``loss_sem_seg`` and ``loss_hardness`` of the labeled rows (both phases); the
    unsupervised and contrastive terms are unweighted, and the teacher's HL branch is EMA'd but
    never run (see the module docstring for why). ``loss_hardness`` reaches only the student's HL
    branch; the other losses never reach it.
    """

    @configurable
    def __init__(
        self,
        *,
        student: SegmentorWithEmbed,
        teacher: SegmentorWithEmbed,
        num_classes: int,
        epoch_iters: int,
        max_iter: int,
        ignore_value: int = 255,
        sup_only_epochs: int = 1,
        ema_decay: float = 0.99,
        unsup_weight: float = 1.0,
        mix: str = "cutmix",
        mix_prob: float = 0.5,
        mix_area_ratio: float = 2.0,
        eval_model: str = "teacher",
        alpha0: float = 20.0,
        low_rank: int = 3,
        high_rank: int = 20,
        anchor_prob_thresh: float = 0.3,
        negative_prob_thresh: float = 1.0,
        num_queries: int = 256,
        num_negatives: int = 50,
        temperature: float = 0.5,
        queue_size: int = 30000,
        queue_size_class0: int = 50000,
        queue_dtype: str = "float32",
        contrast_weight: float = 1.0,
        contrast_divide_by_world_size: bool = True,
        negative_rule: str = "official",
        anchor_rule: str = "official",
    ):
        """Arguments are the ``MODEL.SEMISUP.*`` / ``MODEL.SEMISUP.U2PL.*`` keys (see
        ``hardseg/config/semisup.py`` for their meaning and the official values); ``student`` and
        ``teacher`` are two independently built :class:`SegmentorWithEmbed`; ``max_iter`` is
        ``SOLVER.MAX_ITER`` (total epochs E = max_iter / epoch_iters)."""
        super().__init__()
        if epoch_iters <= 0:
            raise ValueError(
                f"MODEL.SEMISUP.EPOCH_ITERS={epoch_iters}: U2PL needs the iterations per epoch "
                "(N_unlabeled // global unlabeled batch) for its sup-only and DPA schedules."
            )
        if mix not in MIX_MODES:
            raise ValueError(f"MODEL.SEMISUP.MIX={mix!r}; expected one of {MIX_MODES}.")
        if eval_model not in EVAL_MODELS:
            raise ValueError(f"MODEL.SEMISUP.EVAL_MODEL={eval_model!r}; expected {EVAL_MODELS}.")
        if negative_rule not in NEGATIVE_RULES:
            raise ValueError(
                f"MODEL.SEMISUP.U2PL.NEGATIVE_RULE={negative_rule!r}; expected {NEGATIVE_RULES}."
            )
        if anchor_rule not in ANCHOR_RULES:
            raise ValueError(
                f"MODEL.SEMISUP.U2PL.ANCHOR_RULE={anchor_rule!r}; expected {ANCHOR_RULES}."
            )
        if queue_dtype not in QUEUE_DTYPES:
            raise ValueError(
                f"MODEL.SEMISUP.U2PL.QUEUE_DTYPE={queue_dtype!r}; expected {QUEUE_DTYPES}."
            )
        self.student = student
        self.teacher = teacher
        # HL on the labeled batch (module docstring); the teacher's HL branch is never run.
        self.hardness = isinstance(student.segmentor.sem_seg_head, HardnessHead)
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        self.num_classes = num_classes
        self.ignore_value = ignore_value
        self.epoch_iters = epoch_iters
        self.total_epochs = max_iter / epoch_iters
        self.sup_only_epochs = sup_only_epochs
        self.ema_decay = ema_decay
        self.unsup_weight = unsup_weight
        self.mix = mix
        self.mix_prob = mix_prob
        self.mix_area_ratio = mix_area_ratio
        self.eval_model = eval_model
        self.alpha0 = alpha0
        self.contrast_kwargs = dict(
            low_rank=low_rank,
            high_rank=high_rank,
            anchor_prob_thresh=anchor_prob_thresh,
            negative_prob_thresh=negative_prob_thresh,
            num_queries=num_queries,
            num_negatives=num_negatives,
            temperature=temperature,
            negative_rule=negative_rule,
        )
        self.anchor_rule = anchor_rule
        self.contrast_weight = contrast_weight
        self.contrast_divide_by_world_size = contrast_divide_by_world_size
        capacities = [queue_size_class0] + [queue_size] * (num_classes - 1)
        self.queues = ClassMemoryQueues(
            num_classes, student.rep_head.dim, capacities, QUEUE_DTYPES[queue_dtype]
        )
        self.register_buffer("teacher_synced", torch.zeros((), dtype=torch.bool))
        self._register_load_state_dict_pre_hook(self._expand_plain_model_keys)

    @staticmethod
    def _expand_plain_model_keys(state_dict, prefix, *args):
        """Loading the checkpoint of a plain per-pixel model (keys ``backbone.*``,
        ``sem_seg_head.*``, ...; e.g. a supervised HardSegmentor, MODEL.WEIGHTS) initialises both
        ``student.segmentor`` and ``teacher.segmentor`` with it (values copied, never shared)."""
        ours = ("student.", "teacher.", "queues.", "teacher_synced")
        keys = [k for k in state_dict if k.startswith(prefix)]
        if not keys or any(k[len(prefix) :].startswith(ours) for k in keys):
            return
        for k in keys:
            value = state_dict.pop(k)
            rest = k[len(prefix) :]
            state_dict[f"{prefix}student.segmentor.{rest}"] = value
            state_dict[f"{prefix}teacher.segmentor.{rest}"] = value
        logger.info(
            f"U2PL: loading a plain per-pixel model's {len(keys)} tensors into both the student "
            "and the teacher."
        )

    @classmethod
    def from_config(cls, cfg):
        if not cfg.DATASETS.TRAIN_UNLABELED:
            raise ValueError(
                "MODEL.META_ARCHITECTURE U2PL needs unlabeled data: set DATASETS.TRAIN_UNLABELED "
                "(e.g. ('hardshapes_sem_seg_train_1-16_unlabeled',))."
            )
        if cfg.MODEL.HARDNESS.ENABLED and cfg.MODEL.SEM_SEG_HEAD.NAME != "HardnessHead":
            raise ValueError(
                "U2PL applies HL through the student's head: with MODEL.HARDNESS.ENABLED, set "
                "MODEL.SEM_SEG_HEAD.NAME 'HardnessHead' (MODEL.HARDNESS.HEAD_NAME names the "
                "wrapped decode head)."
            )
        s, u = cfg.MODEL.SEMISUP, cfg.MODEL.SEMISUP.U2PL
        return {
            "student": build_segmentor_with_embed(cfg),
            "teacher": build_segmentor_with_embed(cfg),
            "num_classes": cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES,
            "ignore_value": cfg.MODEL.SEM_SEG_HEAD.IGNORE_VALUE,
            "epoch_iters": s.EPOCH_ITERS,
            "max_iter": cfg.SOLVER.MAX_ITER,
            "sup_only_epochs": s.SUP_ONLY_EPOCHS,
            "ema_decay": s.EMA_DECAY,
            "unsup_weight": s.UNSUP_WEIGHT,
            "mix": s.MIX,
            "mix_prob": s.MIX_PROB,
            "mix_area_ratio": s.MIX_AREA_RATIO,
            "eval_model": s.EVAL_MODEL,
            "alpha0": u.ALPHA0,
            "low_rank": u.LOW_RANK,
            "high_rank": u.HIGH_RANK,
            "anchor_prob_thresh": u.ANCHOR_PROB_THRESH,
            "negative_prob_thresh": u.NEGATIVE_PROB_THRESH,
            "num_queries": u.NUM_QUERIES,
            "num_negatives": u.NUM_NEGATIVES,
            "temperature": u.TEMPERATURE,
            "queue_size": u.QUEUE_SIZE,
            "queue_size_class0": u.QUEUE_SIZE_CLASS0,
            "queue_dtype": u.QUEUE_DTYPE,
            "contrast_weight": u.CONTRAST_WEIGHT,
            "contrast_divide_by_world_size": u.CONTRAST_DIVIDE_BY_WORLD_SIZE,
            "negative_rule": u.NEGATIVE_RULE,
            "anchor_rule": u.ANCHOR_RULE,
        }

    # ------------------------------------------------------------------------------------------
    @property
    def device(self):
        return self.student.segmentor.pixel_mean.device

    @property
    def semi_start_iter(self) -> int:
        """First iteration of the semi-supervised phase (S * epoch_iters)."""
        return self.sup_only_epochs * self.epoch_iters

    def forward(self, batched_inputs):
        """Training: ``{"labeled": [...], "unlabeled": [...]}`` -> dict of losses. Inference: a
        list of mapper dicts -> ``[{"sem_seg": (K, height, width)}]``."""
        if not self.training:
            return self.inference(batched_inputs)
        if not isinstance(batched_inputs, dict) or {"labeled", "unlabeled"} - set(batched_inputs):
            raise ValueError(
                "U2PL trains on {'labeled': [...], 'unlabeled': [...]} batches; set "
                "DATASETS.TRAIN_UNLABELED so the Trainer builds the two-stream loader "
                "(hardseg.data.semisup_loader.build_semisup_train_loader)."
            )
        return self.forward_train(
            batched_inputs["labeled"], batched_inputs["unlabeled"], get_event_storage().iter
        )

    def inference(self, batched_inputs):
        use_teacher = self.eval_model == "teacher" and bool(self.teacher_synced)
        return (self.teacher if use_teacher else self.student).segmentor(batched_inputs)

    # ------------------------------------------------------------------------------------------
    def _images_and_targets(self, labeled: List[dict], unlabeled: List[dict]):
        """Normalised images of both streams padded to one size (N_l + N_u, 3, H, W), labeled
        targets (N_l, H, W) padded with the ignore value, and a (N_u, H, W) bool mask of the
        unlabeled pixels that belong to an image (not padding)."""
        seg = self.student.segmentor
        images = [(x["image"].to(self.device) - seg.pixel_mean) / seg.pixel_std for x in labeled]
        images += [(x["image"].to(self.device) - seg.pixel_mean) / seg.pixel_std for x in unlabeled]
        images = ImageList.from_tensors(images, seg.backbone.size_divisibility)
        h, w = images.tensor.shape[-2:]
        targets = torch.full(
            (len(labeled), h, w), self.ignore_value, dtype=torch.long, device=self.device
        )
        inside = torch.zeros((len(unlabeled), h, w), dtype=torch.bool, device=self.device)
        for i, x in enumerate(labeled):
            t = x["sem_seg"].to(self.device)
            targets[i, : t.shape[0], : t.shape[1]] = t
        for i, (ih, iw) in enumerate(images.image_sizes[len(labeled) :]):
            inside[i, :ih, :iw] = True
        return images.tensor, targets, inside

    def _supervised_losses(self, out, targets, labeled, n) -> Dict[str, torch.Tensor]:
        """The student's own head loss (and aux loss) on the labeled rows ``[:n]``; with a
        :class:`HardnessHead`, the HL-weighted loss and ``loss_hardness`` of
        :meth:`HardnessHead.weighted_losses` (weights normalised over the labeled rows)."""
        seg = self.student.segmentor
        # HardSegmentor hands the head the per-sample maps its loss needs (distance maps)
        loss_inputs = getattr(seg, "_head_loss_inputs", lambda _: contextlib.nullcontext())
        with loss_inputs(labeled):
            if self.hardness:  # HardnessHead's objective on the labeled rows (module docstring)
                labeled_features = {k: v[:n] for k, v in out["features"].items()}
                logits = out["sem_seg_logits"][:n]
                losses = seg.sem_seg_head.weighted_losses(logits, labeled_features, targets)
            else:
                losses = dict(seg.sem_seg_head.losses(out["sem_seg_logits"][:n], targets))
        if "aux_logits" in out:
            losses["loss_aux"] = seg.aux_head.losses(out["aux_logits"][:n], targets)["loss_sem_seg"]
        return losses

    def forward_train(self, labeled: List[dict], unlabeled: List[dict], iteration: int):
        """One U2PL iteration (see the class docstring); returns the loss dict."""
        images, targets, inside = self._images_and_targets(labeled, unlabeled)
        n_l = len(labeled)
        size = tuple(images.shape[-2:])
        epoch = u2pl_epoch(iteration, self.epoch_iters)
        if epoch < self.sup_only_epochs:
            out = self.student(images[:n_l])
            losses = self._supervised_losses(out, targets, labeled, n_l)
            with torch.no_grad():  # moves the teacher's BN statistics only
                self.teacher.train()
                self.teacher(images[:n_l])
            zero = out["embed"].sum() * 0.0
            losses.update(loss_sem_seg_unsup=zero, loss_contrast=zero)
            return losses

        if epoch == self.sup_only_epochs:
            copy_parameters_(self.teacher, self.student)
            self.teacher_synced.fill_(True)
        x_l, x_u = images[:n_l], images[n_l:]
        # 1) pseudo-labels: eval-mode teacher on the clean unlabeled batch
        with torch.no_grad():
            self.teacher.eval()
            logits_u = self.teacher(x_u)["sem_seg_logits"]
            self.teacher.train()
            prob_u = F.softmax(_resize(logits_u, size), dim=1)
            conf_u, pseudo = prob_u.max(dim=1)
            pseudo = torch.where(inside, pseudo, torch.full_like(pseudo, self.ignore_value))
            # 2) strong mix, one coin per iteration
            mixed = bool(torch.rand(()) < self.mix_prob) and self.mix != "none"
            if mixed:
                x_u, pseudo, conf_u = mix_unlabeled_batch(
                    x_u, pseudo, conf_u, self.mix, self.mix_area_ratio, self.ignore_value
                )
        # 3) student on [labeled, mixed unlabeled]
        x_all = torch.cat([x_l, x_u])
        out = self.student(x_all)
        logits = out["sem_seg_logits"]
        losses = self._supervised_losses(out, targets, labeled, n_l)
        # 4) teacher, train mode, no grad, same batch
        with torch.no_grad():
            out_t = self.teacher(x_all)
            prob_t = F.softmax(out_t["sem_seg_logits"], dim=1)
            entropy = entropy_map(F.softmax(_resize(out_t["sem_seg_logits"][n_l:], size), dim=1))
            alpha = unreliable_percent(epoch, self.total_epochs, self.alpha0)
            part = entropy_partition(entropy, pseudo != self.ignore_value, alpha)
        # 5) unsupervised loss on reliable pixels
        losses["loss_sem_seg_unsup"] = self.unsup_weight * reliable_pseudo_label_loss(
            _resize(logits[n_l:], size), pseudo, part.reliable, self.ignore_value
        )
        # 6) contrastive loss at decoder resolution
        with torch.no_grad():
            small = tuple(logits.shape[-2:])
            labels = _nearest(torch.cat([targets, pseudo]), small)
            labeled_valid = targets != self.ignore_value
            anchors_u = anchor_candidates(part, self.anchor_rule)
            low = _nearest(torch.cat([labeled_valid, anchors_u]), small).bool()
            high = _nearest(torch.cat([labeled_valid, part.high]), small).bool()
        contrast = u2pl_contrastive_loss(
            out["embed"],
            out_t["embed"],
            prob_t,
            labels,
            low,
            high,
            self.queues,
            n_l,
            **self.contrast_kwargs,
        )
        weight = self.contrast_weight
        if self.contrast_divide_by_world_size:
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

    @torch.no_grad()
    def update_teacher(self, iteration: int) -> None:
        """After the optimizer step of ``iteration``: EMA of the teacher's parameters, with
        m = min(1 - 1/(k + 1), ema_decay), k = iteration - S * epoch_iters; nothing before the
        semi-supervised phase. Buffers (BN statistics) are not touched."""
        if iteration < self.semi_start_iter:
            return
        m = ema_momentum(iteration, self.semi_start_iter, self.ema_decay)
        ema_update_(self.teacher, self.student, m)
        self.teacher_synced.fill_(True)


def _resize(logits: torch.Tensor, size) -> torch.Tensor:
    """(N, K, h, w) -> (N, K, H, W), bilinear (align_corners=False, HardSeg's heads' convention;
    the official code uses True)."""
    if tuple(logits.shape[-2:]) == tuple(size):
        return logits
    return F.interpolate(logits, size=size, mode="bilinear", align_corners=False)


def _nearest(x: torch.Tensor, size) -> torch.Tensor:
    """(N, H, W) integer or bool map -> (N, h, w) int64, nearest (as the official code resizes
    its one-hot labels and masks)."""
    return F.interpolate(x[:, None].float(), size=size, mode="nearest")[:, 0].long()
