"""Datasets (registered on import) and data mappers."""

from . import datasets  # noqa: F401  (registers the datasets)
from .mappers import SemanticDatasetMapper, build_sem_seg_train_aug
