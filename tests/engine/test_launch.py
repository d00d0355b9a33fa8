"""Multi-process launch on CPU: workers die with the launcher, a waiting rank logs where it
waits, and a collective timeout names the config key that sets it."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from detectron2.utils import comm

from hardseg.engine.launch import launch, timeout_from_config
from hardseg.model_zoo import get_config_file
from tests.common import REPO

LAUNCHER = """
import os, sys, time
from hardseg.engine.launch import launch

def work(folder):
    from detectron2.utils import comm
    with open(os.path.join(folder, f"{comm.get_rank()}.pid"), "w") as f:
        f.write(str(os.getpid()))
    end = time.monotonic() + 120
    while time.monotonic() < end:
        try:
            time.sleep(1)
        except KeyboardInterrupt:  # torch's spawn sends SIGINT when the parent dies: code that
            pass  # catches it (or waits in a C call, e.g. a collective) keeps running

if __name__ == "__main__":
    launch(work, 2, dist_url="auto", args=(sys.argv[1],))
"""


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_exit_when_the_launcher_is_killed(tmp_path):
    script = tmp_path / "launcher.py"
    script.write_text(LAUNCHER)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path)], cwd=REPO, env=env)
    pids = []
    try:
        deadline = time.monotonic() + 120
        while len(list(tmp_path.glob("*.pid"))) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, "workers did not start"
            time.sleep(0.2)
        time.sleep(0.2)
        pids = [int(p.read_text()) for p in sorted(tmp_path.glob("*.pid"))]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while any(map(_alive, pids)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(map(_alive, pids)), "workers outlived their launcher"
    finally:
        proc.kill()
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _stalled_rank(seconds):
    if comm.get_rank() == 1:
        time.sleep(seconds)  # as if stopped (SIGSTOP): rank 0 waits in the barrier
    comm.synchronize()


def test_waiting_rank_logs_and_timeout_names_the_key(capfd):
    with pytest.raises(Exception) as exc:
        launch(
            _stalled_rank,
            2,
            dist_url="auto",
            args=(12,),
            timeout=timedelta(seconds=5),
            stall_seconds=1,
        )
    assert "DIST_TIMEOUT_MINUTES" in str(exc.value) and "timed out" in str(exc.value)
    err = capfd.readouterr().err
    assert "rank 0 has been waiting" in err and "torch.distributed barrier" in err, err


def test_timeout_is_a_config_key():
    yaml = get_config_file("quick_schedules/deeplabv3plus_R18_instant_test.yaml")
    lazy = get_config_file("lazy/quick_schedules/deeplabv3plus_R18_instant_test.py")
    assert timeout_from_config(yaml) == timedelta(minutes=10)  # CPU default
    assert timeout_from_config(yaml, ["DIST_TIMEOUT_MINUTES", "3"]) == timedelta(minutes=3)
    assert timeout_from_config(lazy, ["train.dist_timeout_minutes=2"]) == timedelta(minutes=2)
    with pytest.raises(ValueError, match="DIST_TIMEOUT_MINUTES=-1"):
        timeout_from_config(yaml, ["DIST_TIMEOUT_MINUTES", "-1"])
