"""bench/ scripts run and report what they claim (no timing is asserted)."""

import json
import subprocess
import sys

from detectron2.modeling import build_model

from tests.common import INSTANT_CONFIG, REPO, tiny_cfg


def test_model_cost_reports_parameters_and_writes_json(tmp_path):
    out = tmp_path / "cost.json"
    cfg_file = REPO / "configs" / INSTANT_CONFIG
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench/model_cost.py"),
            "--config-file",
            str(cfg_file),
            "--batch",
            "2",
            "--size",
            "64",
            "64",
            "--iters",
            "1",
            "--warmup",
            "0",
            "--json",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(out.read_text())
    n_params = sum(p.numel() for p in build_model(tiny_cfg()).parameters())
    assert abs(res["params_M"] * 1e6 - n_params) < 1
    assert res["gflops_per_image"] > 0 and res["train_step_s"] > 0 and res["peak_memory_MB"] > 0
    assert "params_M" in proc.stdout and "wrote" in proc.stdout
