"""dev/install.py against a fake virtual environment in a temporary directory: a re-run is a
no-op, a forced re-run keeps the detectron2 that already imports instead of rebuilding it, and a
missing detectron2 is installed from the cached wheel. The fake ``bin/python`` records every
command and answers the import checks; nothing is installed anywhere, and the environment the tests
run in is never touched."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Records its arguments; answers the import checks. "import detectron2" fails when the file
# "no-detectron2" exists next to bin/.
FAKE_PYTHON = """#!/bin/sh
env_dir=$(dirname "$(dirname "$0")")
echo "$*" >> "$env_dir/calls.log"
case "$*" in
  *"print(detectron2.__version__"*) echo "0.6 /fake/site-packages/detectron2/__init__.py" ;;
  *"import detectron2"*) [ ! -e "$env_dir/no-detectron2" ] || exit 1 ;;
esac
exit 0
"""


@pytest.fixture
def fake_env(tmp_path):
    env_dir = tmp_path / "venv"
    (env_dir / "bin").mkdir(parents=True)
    python = env_dir / "bin" / "python"
    python.write_text(FAKE_PYTHON)
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    return env_dir


def _install(env_dir, *extra, cache=None):
    env = dict(os.environ)
    if cache is not None:
        env["XDG_CACHE_HOME"] = str(cache)
    proc = subprocess.run(
        [sys.executable, str(REPO / "dev/install.py"), "--venv", str(env_dir), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def _calls(env_dir):
    return (env_dir / "calls.log").read_text().splitlines()


def test_first_run_installs_into_the_given_environment_only(fake_env):
    live_stamp = Path(sys.prefix) / ".hardseg-install-stamp"
    before = live_stamp.stat().st_mtime_ns if live_stamp.exists() else None
    out = _install(fake_env, "--force")
    installs = [c for c in _calls(fake_env) if c.startswith("-m pip") and " install " in c]
    assert any("torch==2.14.1" in c and "torchvision==0.29.1" in c for c in installs)
    assert any(f"-e {REPO}[test]" in c for c in installs)
    assert (fake_env / ".hardseg-install-stamp").is_file()
    assert f"using the virtual environment {fake_env}" in out
    after = live_stamp.stat().st_mtime_ns if live_stamp.exists() else None
    assert before == after


def test_rerun_is_a_no_op(fake_env):
    _install(fake_env, "--force")
    (fake_env / "calls.log").unlink()
    out = _install(fake_env)
    assert f"{fake_env} is up to date" in out
    assert "installing" not in out
    assert _calls(fake_env) == ["-c import hardseg, detectron2"]


def test_forced_rerun_keeps_the_importable_detectron2(fake_env):
    _install(fake_env, "--force")
    out = _install(fake_env, "--force")
    assert "keeping the detectron2 already installed: 0.6 /fake/" in out
    assert "downloading" not in out and "building the detectron2 wheel" not in out
    for step in [
        "installing torch / torchvision",
        "installing HardSeg",
        "checking the imports",
        "done in",
    ]:
        assert step in out


def test_missing_detectron2_comes_from_the_cached_wheel(fake_env, tmp_path):
    (fake_env / "no-detectron2").touch()
    wheels = tmp_path / "cache" / "hardseg" / "wheels"
    wheels.mkdir(parents=True)
    wheel = wheels / "pb1_detectron2-0.6+hardseg2-py3-none-any.whl"
    wheel.touch()
    out = _install(fake_env, "--force", cache=tmp_path / "cache")
    assert f"using the cached detectron2 wheel {wheel}" in out
    assert "downloading" not in out
    assert any(c.startswith("-m pip") and c.endswith(str(wheel)) for c in _calls(fake_env))
