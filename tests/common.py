"""Shared helpers for the tests: tiny configs and random batches (CPU, a few seconds)."""

import contextlib
import logging

import numpy as np

from hardseg.engine import setup_cfg
from hardseg.model_zoo import get_config_file
from hardseg.utils.synthetic import random_batch  # noqa: F401  (the tests' batches)

INSTANT_CONFIG = "quick_schedules/deeplabv3plus_R18_instant_test.yaml"


def tiny_cfg(*opts, config=INSTANT_CONFIG, freeze=False):
    """The instant-test config (R18 at 1/8 width, 7 classes, CPU), with ``KEY VALUE`` overrides."""
    return setup_cfg(get_config_file(config), list(opts), freeze=freeze)


def write_label_png(path, array):
    from PIL import Image

    Image.fromarray(np.asarray(array, dtype=np.uint8), mode="L").save(path)


REPO = __import__("pathlib").Path(__file__).resolve().parents[1]


def run_tool(script, *args, timeout=600):
    """Run ``tools/<script>`` with the test interpreter from the repository root; fail the test
    with the tool's output if it exits non-zero. Returns the combined output."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, str(REPO / "tools" / script), *map(str, args)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert (
        proc.returncode == 0
    ), f"{script} {args} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout + proc.stderr


def read_metrics(output_dir, dataset="hardshapes_sem_seg_val"):
    import json

    with open(f"{output_dir}/inference/{dataset}/sem_seg_metrics.json") as f:
        return json.load(f)


@contextlib.contextmanager
def hardseg_log():
    """Collect the messages of the "hardseg" logger (detectron2's setup_logger stops it from
    propagating to pytest's handler)."""
    logger, messages = logging.getLogger("hardseg"), []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: messages.append(record.getMessage())
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
