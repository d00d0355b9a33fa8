"""U2PL's settings in one frozen dataclass: the defaults live here, ``from_config`` maps the
``MODEL.SEMISUP.*`` / ``MODEL.SEMISUP.U2PL.*`` keys onto it (their meaning and official values:
``hardseg/config/semisup.py``)."""

from dataclasses import dataclass

import torch

from ..semisup.contrastive import CLASS_INDEX_MODES, LABEL_ONEHOT_MODES, NEGATIVE_RULES
from ..semisup.reliability import ANCHOR_RULES
from ..semisup.strong_aug import MIX_MODES

__all__ = ["QUEUE_DTYPES", "U2PLConfig"]

QUEUE_DTYPES = {"float32": torch.float32, "float16": torch.float16}


@dataclass(frozen=True)
class U2PLConfig:
    """Everything U2PL needs besides its student and teacher. ``max_iter`` is
    ``SOLVER.MAX_ITER`` (total epochs E = max_iter / epoch_iters)."""

    num_classes: int
    epoch_iters: int
    max_iter: int
    ignore_value: int = 255
    sup_only_epochs: int = 1
    ema_decay: float = 0.99
    unsup_weight: float = 1.0
    mix: str = "cutmix"
    mix_prob: float = 0.5
    mix_area_ratio: float = 2.0
    eval_model: str = "teacher"
    alpha0: float = 20.0
    low_rank: int = 3
    high_rank: int = 20
    anchor_prob_thresh: float = 0.3
    negative_prob_thresh: float = 1.0
    num_queries: int = 256
    num_negatives: int = 50
    temperature: float = 0.5
    queue_size: int = 30000
    queue_size_class0: int = 50000
    queue_dtype: str = "float32"
    contrast_weight: float = 1.0
    contrast_divide_by_world_size: bool = True
    negative_rule: str = "official"
    anchor_rule: str = "official"
    label_onehot: str = "official"
    class_index: str = "official"
    align_corners: bool = True

    def __post_init__(self):
        if self.epoch_iters <= 0:
            raise ValueError(
                f"MODEL.SEMISUP.EPOCH_ITERS={self.epoch_iters}: U2PL needs the iterations per "
                "epoch (N_unlabeled // global unlabeled batch) for its sup-only and DPA schedules."
            )
        if self.mix not in MIX_MODES:
            raise ValueError(f"MODEL.SEMISUP.MIX={self.mix!r}; expected one of {MIX_MODES}.")
        if self.negative_rule not in NEGATIVE_RULES:
            raise ValueError(
                f"MODEL.SEMISUP.U2PL.NEGATIVE_RULE={self.negative_rule!r}; "
                f"expected {NEGATIVE_RULES}."
            )
        if self.anchor_rule not in ANCHOR_RULES:
            raise ValueError(
                f"MODEL.SEMISUP.U2PL.ANCHOR_RULE={self.anchor_rule!r}; expected {ANCHOR_RULES}."
            )
        if self.label_onehot not in LABEL_ONEHOT_MODES:
            raise ValueError(
                f"MODEL.SEMISUP.U2PL.LABEL_ONEHOT={self.label_onehot!r}; "
                f"expected {LABEL_ONEHOT_MODES}."
            )
        if self.class_index not in CLASS_INDEX_MODES:
            raise ValueError(
                f"MODEL.SEMISUP.U2PL.CLASS_INDEX={self.class_index!r}; expected {CLASS_INDEX_MODES}."
            )
        if self.queue_dtype not in QUEUE_DTYPES:
            raise ValueError(
                f"MODEL.SEMISUP.U2PL.QUEUE_DTYPE={self.queue_dtype!r}; expected {QUEUE_DTYPES}."
            )

    @classmethod
    def from_config(cls, cfg) -> "U2PLConfig":
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
        return cls(
            num_classes=cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES,
            ignore_value=cfg.MODEL.SEM_SEG_HEAD.IGNORE_VALUE,
            epoch_iters=s.EPOCH_ITERS,
            max_iter=cfg.SOLVER.MAX_ITER,
            sup_only_epochs=s.SUP_ONLY_EPOCHS,
            ema_decay=s.EMA_DECAY,
            unsup_weight=s.UNSUP_WEIGHT,
            mix=s.MIX,
            mix_prob=s.MIX_PROB,
            mix_area_ratio=s.MIX_AREA_RATIO,
            eval_model=s.EVAL_MODEL,
            alpha0=u.ALPHA0,
            low_rank=u.LOW_RANK,
            high_rank=u.HIGH_RANK,
            anchor_prob_thresh=u.ANCHOR_PROB_THRESH,
            negative_prob_thresh=u.NEGATIVE_PROB_THRESH,
            num_queries=u.NUM_QUERIES,
            num_negatives=u.NUM_NEGATIVES,
            temperature=u.TEMPERATURE,
            queue_size=u.QUEUE_SIZE,
            queue_size_class0=u.QUEUE_SIZE_CLASS0,
            queue_dtype=u.QUEUE_DTYPE,
            contrast_weight=u.CONTRAST_WEIGHT,
            contrast_divide_by_world_size=u.CONTRAST_DIVIDE_BY_WORLD_SIZE,
            negative_rule=u.NEGATIVE_RULE,
            anchor_rule=u.ANCHOR_RULE,
            label_onehot=u.LABEL_ONEHOT,
            class_index=u.CLASS_INDEX,
            align_corners=s.ALIGN_CORNERS,
        )

    @property
    def total_epochs(self) -> float:
        return self.max_iter / self.epoch_iters

    @property
    def semi_start_iter(self) -> int:
        """First iteration of the semi-supervised phase (S * epoch_iters)."""
        return self.sup_only_epochs * self.epoch_iters

    @property
    def contrast_kwargs(self) -> dict:
        """The keyword arguments of :func:`u2pl_contrastive_loss` set here."""
        return dict(
            low_rank=self.low_rank,
            high_rank=self.high_rank,
            anchor_prob_thresh=self.anchor_prob_thresh,
            negative_prob_thresh=self.negative_prob_thresh,
            num_queries=self.num_queries,
            num_negatives=self.num_negatives,
            temperature=self.temperature,
            negative_rule=self.negative_rule,
            label_onehot=self.label_onehot,
            class_index=self.class_index,
        )
