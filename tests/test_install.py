"""dev/install.py on the environment the tests run in: a re-run is a no-op, and a forced re-run
keeps the detectron2 that is already importable instead of rebuilding it."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VENV = Path(sys.prefix)

pytestmark = pytest.mark.skipif(
    not (VENV / ".hardseg-install-stamp").is_file(),
    reason="the tests do not run in an environment made by dev/install.py",
)


def _install(*extra):
    proc = subprocess.run(
        [sys.executable, str(REPO / "dev/install.py"), "--venv", str(VENV), *extra],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def test_rerun_is_a_no_op():
    out = _install()
    assert f"{VENV} is up to date" in out
    assert "installing" not in out


def test_forced_rerun_keeps_the_importable_detectron2():
    out = _install("--force")
    assert "keeping the detectron2 already installed" in out
    assert "downloading" not in out and "building the detectron2 wheel" not in out
    for step in [
        "installing torch / torchvision",
        "installing HardSeg",
        "checking the imports",
        "done in",
    ]:
        assert step in out
