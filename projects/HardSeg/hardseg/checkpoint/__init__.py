"""Checkpoints: atomic saves, a resume that survives a broken last checkpoint, loading that runs no
code from a file, complete-weights loading for evaluation, and resume-time config checks."""

from .atomic_file import atomic_write
from .checkpointer import HardSegCheckpointer
from .complete_load import IncompleteWeightsError, load_model_weights
from .load_file import CheckpointLoadError, load_checkpoint_file
from .resume_config import check_lazy_resume_config, check_resume_config
from .safe_pickle import RefusedGlobalError, load_restricted_pickle
from .schedule import check_resume_length, keep_scheduler_settings, scheduler_settings
