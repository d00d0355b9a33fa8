"""Clear errors for datasets that are not on disk."""

import os
from typing import Iterable

from detectron2.utils.file_io import PathManager


def require_dirs(dataset_name: str, dirs: Iterable[str], expected_tree: str, how_to_fix: str):
    """Raise FileNotFoundError if any of ``dirs`` is missing. The message names the dataset, the
    missing paths, ``$DETECTRON2_DATASETS``, the expected tree and how to prepare the data."""
    missing = [d for d in dirs if not PathManager.isdir(d)]
    if missing:
        root = os.environ.get("DETECTRON2_DATASETS", "datasets (DETECTRON2_DATASETS is not set)")
        raise FileNotFoundError(
            f"Dataset {dataset_name!r} is not where it is expected. Missing: "
            f"{', '.join(os.path.abspath(m) for m in missing)}.\n"
            f"Dataset root: DETECTRON2_DATASETS={root}. Expected layout under it:\n"
            f"{expected_tree}\n{how_to_fix}"
        )
