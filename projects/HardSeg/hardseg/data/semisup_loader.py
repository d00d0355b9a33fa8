"""The two-stream (labeled + unlabeled) training loader of semi-supervised meta-architectures.

Each stream is a :class:`ResumableTrainLoader` with its own shuffled order, whose position is
saved in checkpoints (``TwoStreamLoader.state_dict``); every step yields ``{"labeled": [mapped dicts of DATASETS.TRAIN], "unlabeled": [mapped dicts of
DATASETS.TRAIN_UNLABELED]}`` (per-process batches). Both streams get the same weak augmentation,
that of :class:`SemanticDatasetMapper` (resize, crop, flip, ``build_sem_seg_train_aug``); the
unlabeled stream's crop ignores the category-area constraint (there is no label to check).
"""

from typing import Iterator, List

from detectron2.data import get_detection_dataset_dicts
from detectron2.data import transforms as T

from .mappers import SemanticDatasetMapper, build_sem_seg_train_aug
from .resumable_loader import build_resumable_train_loader

__all__ = [
    "TwoStreamLoader",
    "unlabeled_weak_augmentations",
    "build_two_stream_loader",
    "build_semisup_train_loader",
]


def unlabeled_weak_augmentations(cfg) -> List[T.Augmentation]:
    """``build_sem_seg_train_aug(cfg)`` with the category-area-constrained crop replaced by the
    plain random crop it wraps (same size and type)."""
    return [
        a.crop_aug if isinstance(a, T.RandomCrop_CategoryAreaConstraint) else a
        for a in build_sem_seg_train_aug(cfg)
    ]


class TwoStreamLoader:
    """Zips two infinite loaders into ``{"labeled": batch, "unlabeled": batch}`` steps. Its state
    is both streams' positions (``{"labeled": ..., "unlabeled": ...}``)."""

    STREAMS = ("labeled", "unlabeled")

    def __init__(self, labeled, unlabeled):
        self.labeled = labeled
        self.unlabeled = unlabeled

    def __iter__(self) -> Iterator[dict]:
        for lab, unl in zip(self.labeled, self.unlabeled):
            yield {"labeled": lab, "unlabeled": unl}

    def state_dict(self) -> dict:
        return {name: getattr(self, name).state_dict() for name in self.STREAMS}

    def load_state_dict(self, state: dict):
        if set(state) != set(self.STREAMS):
            raise ValueError(
                f"The checkpoint's data position has streams {sorted(state)}, this loader "
                f"{list(self.STREAMS)}; resume with the config that wrote the checkpoint."
            )
        for name in self.STREAMS:
            getattr(self, name).load_state_dict(state[name])


def build_two_stream_loader(
    *,
    dataset,
    unlabeled_dataset,
    mapper,
    unlabeled_mapper,
    total_batch_size: int,
    total_batch_size_unlabeled: int = 0,
    aspect_ratio_grouping: bool = False,
    num_workers: int = 0,
) -> TwoStreamLoader:
    """Explicit-argument form (LazyConfig): ``dataset`` / ``unlabeled_dataset`` are lists of
    dataset dicts, ``mapper`` / ``unlabeled_mapper`` map one dict each; each stream is a
    :func:`build_resumable_train_loader` with its own order (streams "labeled" and "unlabeled").
    The unlabeled global batch defaults (0) to ``total_batch_size``."""
    common = dict(aspect_ratio_grouping=aspect_ratio_grouping, num_workers=num_workers)
    labeled = build_resumable_train_loader(
        dataset=dataset,
        mapper=mapper,
        total_batch_size=total_batch_size,
        stream="labeled",
        **common,
    )
    unlabeled = build_resumable_train_loader(
        dataset=unlabeled_dataset,
        mapper=unlabeled_mapper,
        total_batch_size=total_batch_size_unlabeled or total_batch_size,
        stream="unlabeled",
        **common,
    )
    return TwoStreamLoader(labeled, unlabeled)


def build_semisup_train_loader(cfg, labeled_mapper=None) -> TwoStreamLoader:
    """Labeled stream: ``DATASETS.TRAIN`` with ``labeled_mapper`` (default
    ``SemanticDatasetMapper(cfg, is_train=True)``), global batch ``SOLVER.IMS_PER_BATCH``.
    Unlabeled stream: ``DATASETS.TRAIN_UNLABELED``, images only (a ``SemanticDatasetMapper`` that
    loads no label) with :func:`unlabeled_weak_augmentations`, global batch
    ``SOLVER.IMS_PER_BATCH_UNLABELED`` (0: the labeled batch)."""
    if not cfg.DATASETS.TRAIN_UNLABELED:
        raise ValueError("DATASETS.TRAIN_UNLABELED is empty: no unlabeled stream to load.")
    if labeled_mapper is None:
        labeled_mapper = SemanticDatasetMapper(cfg, is_train=True)
    unlabeled_mapper = SemanticDatasetMapper(
        is_train=False,  # no label is read; the augmentations are the training ones
        augmentations=unlabeled_weak_augmentations(cfg),
        image_format=cfg.INPUT.FORMAT,
        num_classes=cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES,
        ignore_value=cfg.MODEL.SEM_SEG_HEAD.IGNORE_VALUE,
    )
    return build_two_stream_loader(
        dataset=get_detection_dataset_dicts(cfg.DATASETS.TRAIN, filter_empty=False),
        unlabeled_dataset=get_detection_dataset_dicts(
            cfg.DATASETS.TRAIN_UNLABELED, filter_empty=False
        ),
        mapper=labeled_mapper,
        unlabeled_mapper=unlabeled_mapper,
        total_batch_size=cfg.SOLVER.IMS_PER_BATCH,
        total_batch_size_unlabeled=cfg.SOLVER.IMS_PER_BATCH_UNLABELED,
        aspect_ratio_grouping=cfg.DATALOADER.ASPECT_RATIO_GROUPING,
        num_workers=cfg.DATALOADER.NUM_WORKERS,
    )
