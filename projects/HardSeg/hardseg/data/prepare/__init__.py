"""Offline label preparation for the registered datasets (``datasets/prepare_<name>.py``).

``core``: parallel conversion with a progress bar, summaries and the ``--check`` verification;
``cli``: the shared command line; one module per dataset lists its jobs and readers (the id tables
live next to each dataset's registration in ``hardseg.data.datasets``).
"""

from .core import (  # noqa: F401
    LabelJob,
    Summary,
    UnexpectedLabelValues,
    apply_lut,
    check_dataset_dicts,
    convert_labels,
    parallel_map,
    read_index_png,
)
from .cli import run_prepare  # noqa: F401
