"""bench/ scripts run and report what they claim (no timing is asserted)."""

import json
import os
import subprocess
import sys

import pytest

from detectron2.modeling import build_model

from tests.common import INSTANT_CONFIG, REPO, tiny_cfg


def _run_bench(script, *args, timeout=300):
    """Run ``bench/<script>`` with the test interpreter (one thread) from the repository root;
    fail the test with its output if it exits non-zero. Returns the completed process."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / script), *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def test_model_cost_reports_parameters_and_writes_json(tmp_path):
    out = tmp_path / "cost.json"
    cfg_file = REPO / "configs" / INSTANT_CONFIG
    proc = _run_bench(
        "model_cost.py",
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
    )
    res = json.loads(out.read_text())
    n_params = sum(p.numel() for p in build_model(tiny_cfg()).parameters())
    assert abs(res["params_M"] * 1e6 - n_params) < 1
    assert res["gflops_per_image"] > 0 and res["train_step_s"] > 0 and res["peak_memory_MB"] > 0
    assert "params_M" in proc.stdout and "wrote" in proc.stdout


def test_eval_throughput_compares_the_evaluators_and_writes_json(tmp_path):
    out = tmp_path / "eval.json"
    proc = _run_bench(
        "eval_throughput.py",
        "--images",
        "2",
        "--size",
        "24",
        "40",
        "--repeats",
        "1",
        "--json",
        str(out),
    )
    res = json.loads(out.read_text())
    names = [r["evaluator"] for r in res["rows"]]
    assert names == ["detectron2 SemSegEvaluator", "HardSeg", "HardSeg + JSON"]
    assert res["metrics_agree"] and res["ratio"] > 0
    # every metric key of the two evaluators was compared: 4 summaries + IoU/ACC per class
    assert all(r["keys_compared"] == 4 + 2 * 19 for r in res["rows"])
    assert "ratio" in proc.stdout and "wrote" in proc.stdout


def test_hl_overhead_measures_both_variants(tmp_path):
    out = tmp_path / "hl_overhead.json"
    proc = _run_bench(
        "hl_overhead.py",
        "--family",
        "instant",
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
    )
    res = json.loads(out.read_text())["results"]["DeepLabV3+ tiny"]
    base = build_model(tiny_cfg())
    n_base = sum(p.numel() for p in base.parameters())
    assert abs(res["baseline"]["params_M"] * 1e6 - n_base) < 1
    # the HL branch is a second decode head with one output channel
    head = sum(p.numel() for p in base.sem_seg_head.parameters())
    predictor = base.sem_seg_head.predictor
    one_output = predictor.weight[:1].numel() + 1
    expected = n_base + head - predictor.weight.numel() - predictor.bias.numel() + one_output
    assert abs(res["hl"]["params_M"] * 1e6 - expected) < 1
    for variant in ("baseline", "hl"):
        assert res[variant]["train_step_s"] > 0 and res[variant]["inference_s_per_image"] > 0
    assert set(res["hl_over_baseline"]) == {"train_step", "peak_memory", "inference", "params"}
    assert "HL / baseline" in proc.stdout


def test_hl_gain_runs_both_variants_and_writes_json_and_chart(tmp_path):
    out = tmp_path / "gain"
    proc = _run_bench(
        "hl_gain.py",
        "--model",
        "instant",
        "--iters",
        "2",
        "--seeds",
        "0",
        "--jobs",
        "1",
        "--out",
        str(out),
        timeout=600,
    )
    res = json.loads((out / "hl_gain.json").read_text())
    assert set(res["runs"]) == {"baseline", "hl"} and res["thin_class_ids"] == [3, 4, 5]
    for variant in ("baseline", "hl"):
        s = res["summary"][variant]
        per_class = s["per_class_mean"]
        assert len(per_class) == 7
        assert s["mIoU"] == pytest.approx(sum(per_class.values()) / 7)
        assert s["thin_mIoU"] == pytest.approx(
            (per_class["pole"] + per_class["wire"] + per_class["crack"]) / 3
        )
        assert s["small_mIoU"] == pytest.approx(per_class["stone"])
    # the HL run really trained with the HL loss
    hl_log = (out / "hl_seed0" / "metrics.json").read_text()
    assert (
        "loss_hardness" in hl_log
        and "loss_hardness" not in (out / "baseline_seed0" / "metrics.json").read_text()
    )
    assert (out / "hl_gain.png").stat().st_size > 0


def test_semisup_runs_the_arms_from_one_config_and_reports_cost(tmp_path):
    out = tmp_path / "semisup"
    proc = _run_bench(
        "semisup.py",
        "--arms",
        "sup_only",
        "u2pl_hl",
        "--iters",
        "6",
        "--seeds",
        "0",
        "--jobs",
        "2",
        "--out",
        str(out),
        timeout=600,
    )
    res = json.loads((out / "semisup.json").read_text())
    assert set(res["runs"]) == {"sup_only", "u2pl_hl"} and not res["failed"]
    assert res["schedule"]["epoch_iters"] == 1 and res["schedule"]["sup_only_epochs"] == 2
    for arm in ("sup_only", "u2pl_hl"):
        s = res["summary"][arm]
        assert len(s["per_class_mean"]) == len(s["per_class_std"]) == 7
        assert s["mIoU"] == pytest.approx(sum(s["per_class_mean"].values()) / 7)
        assert s["iter_time_s"] > 0
    assert res["cost"]["ratio_vs_sup_only"]["sup_only"] == pytest.approx(1.0)
    assert res["cost"]["ratio_vs_sup_only"]["u2pl_hl"] > 0
    # the arms differ only by overrides of the one U2PL config
    assert res["arms"]["sup_only"]["opts"][-4:] == [
        "MODEL.META_ARCHITECTURE",
        "HardSegmentor",
        "DATASETS.TRAIN_UNLABELED",
        "()",
    ]
    sup_log = (out / "sup_only_seed0" / "metrics.json").read_text()
    hl_log = (out / "u2pl_hl_seed0" / "metrics.json").read_text()
    assert "loss_sem_seg_unsup" not in sup_log and "loss_hardness" not in sup_log
    assert "loss_sem_seg_unsup" in hl_log and "loss_hardness" in hl_log
    for row in ("class / group", "SupOnly", "U2PL+HL - SupOnly", "mIoU", "cost / SupOnly"):
        assert row in proc.stdout
    assert (out / "semisup.png").stat().st_size > 0


@pytest.mark.parametrize("stem", ["enet_bs8_600it", "segnet_VGG16BNw16_bs8_600it"])
def test_model_cost_counts_flops_only_with_zero_iters(stem):
    """``--iters 0``: parameters and FLOPs, no timings; fvcore traces the models that unpool with
    stored indices (their unpool sizes must stay plain ints under tracing)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("model_cost", REPO / "bench" / "model_cost.py")
    model_cost = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(model_cost)
    cfg_file = str(REPO / "configs" / "hardshapes" / f"{stem}.yaml")
    res = model_cost.measure(cfg_file, batch=1, size=(64, 64), iters=0)
    assert res["train_step_s"] is None and res["inference_s_per_image"] is None
    assert res["gflops_per_image"] > 0


def test_gpu_suite_refuses_cpu_and_formats_its_table():
    """bench/gpu_suite.py needs CUDA (not run here); its arguments, MFU and table on CPU."""
    import importlib.util

    import torch

    spec = importlib.util.spec_from_file_location("gpu_suite", REPO / "bench" / "gpu_suite.py")
    suite = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(suite)
    args = suite.parse_args(["--rows", "DeepLabV3+ R101c bf16", "--iters", "2"])
    assert args.rows == ["DeepLabV3+ R101c bf16"] and args.iters == 2
    with pytest.raises(SystemExit):
        suite.parse_args(["--rows", "no such row"])
    # 100 G multiply-adds per image, batch 8, 1 s per step, 1 PFLOP/s peak: 3*2*100e9*8/1e15
    assert suite.mfu(100e9, 8, 1.0, 1e15) == pytest.approx(0.0048)
    assert suite.peak_flops("NVIDIA H100 80GB HBM3", "bfloat16") == 989e12
    assert suite.peak_flops("unknown", "float32") is None
    table = suite.format_table("NVIDIA X", [{"name": "r", "step_s": 0.5, "mfu": 0.4}])
    assert "device: NVIDIA X" in table and "40.000" in table
    if not torch.cuda.is_available():
        proc = subprocess.run(
            [sys.executable, str(REPO / "bench" / "gpu_suite.py")],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode != 0 and "needs CUDA" in proc.stderr


def test_mapper_cost_writes_its_table(tmp_path):
    out = tmp_path / "mapper.json"
    proc = _run_bench("mapper_cost.py", "--size", 64, 128, "--repeats", 1, "--json", out)
    result = json.loads(out.read_text())
    rows, p = result["rows"], result["present_classes"]
    assert "HardSeg, boundary (OpenCV)" in rows and "maps speed-up" in proc.stdout
    # before: 19 classes x 64 x 128 float16 for the boundary map, 64 x 128 float16 for DPCE;
    # now: the p present classes x 64 x 128 int16 (+ p int64 indices), 64 x 128 uint8 for DPCE
    assert rows["HardSeg, boundary (SciPy, before)"]["maps_mib"] == pytest.approx(
        19 * 64 * 128 * 2 / 2**20
    )
    assert rows["HardSeg, boundary (OpenCV)"]["maps_mib"] == pytest.approx(
        (p * 64 * 128 * 2 + p * 8) / 2**20
    )
    assert rows["HardSeg, DPCE (OpenCV)"]["maps_mib"] == pytest.approx(64 * 128 / 2**20)
    assert rows["HardSeg, DPCE (SciPy, before)"]["maps_mib"] == pytest.approx(64 * 128 * 2 / 2**20)


def test_evidence_t_interval_and_paired_differences_by_hand():
    sys.path.insert(0, str(REPO / "bench"))
    import evidence

    # diffs 1, 2, 3: mean 2, sample std 1, t_{0.975, 2} = 4.302653 -> half-width 4.302653 / sqrt 3
    mean, half = evidence.t_interval([1.0, 2.0, 3.0])
    assert mean == 2.0 and half == pytest.approx(4.302653 / 3**0.5, rel=1e-6)
    assert evidence.t_interval([1.5])[1] != evidence.t_interval([1.5])[1]  # NaN for one seed

    def metrics(iou):
        return {f"IoU-{c}": v for c, v in zip(evidence._runs.HARDSHAPES_CLASSES, iou)}

    ref = {0: metrics([90, 90, 80, 40, 40, 10, 70]), 1: metrics([90, 90, 80, 42, 40, 10, 70])}
    arm = {0: metrics([90, 90, 80, 46, 40, 10, 70]), 1: metrics([90, 90, 80, 51, 40, 10, 70])}
    d = evidence.paired({"ref": ref, "arm": arm}, "arm", "ref")
    # pole +6 and +9: thin mean +2 and +3, mIoU +6/7 and +9/7
    assert d["thin_mIoU"]["per_seed"] == pytest.approx([2.0, 3.0])
    assert d["mIoU"]["mean"] == pytest.approx(7.5 / 7)
    half = 12.706205 * (3 / 7 / 2**0.5) / 2**0.5  # t_{0.975,1} * std(6/7, 9/7) / sqrt 2
    assert d["mIoU"]["ci95"] == pytest.approx([7.5 / 7 - half, 7.5 / 7 + half], rel=1e-5)
    assert d["small_mIoU"]["mean"] == 0 and not d["small_mIoU"]["beyond_interval"]


def test_hl_branch_cost_reports_both_branches_and_the_trained_size(tmp_path):
    out = tmp_path / "hl_branch_cost.json"
    args = ["--flop-size", "64", "64", "--step-size", "64", "64", "--iters", "1", "--json", out]
    proc = _run_bench("hl_branch_cost.py", "--models", "DeepLabV3+ tiny", *args)
    res = json.loads(out.read_text())["results"]["DeepLabV3+ tiny"]
    f = res["flops"]
    for branch in ("copy", "light"):
        assert f[branch + "_ratio"] == pytest.approx(
            (f["base_gflops"] + f[branch + "_branch_gflops"]) / f["base_gflops"]
        )
        assert res["step"]["step_s"][branch] > 0
        assert f[branch + "_branch_gflops"] > 0 and f[branch + "_branch_params_M"] > 0
    assert res["step_trained_size"] == [64, 64] and "trained at 64x64" in proc.stdout
    # the R101 configs pad every training image to the 769 crop, whatever the step size
    sys.path.insert(0, str(REPO / "bench"))
    import hl_branch_cost

    psp = hl_branch_cost.MODELS["PSPNet R101c"]
    assert hl_branch_cost.trained_size(psp, (256, 256)) == [769, 769]


def test_chart_refuses_fewer_colours_than_variants(tmp_path):
    sys.path.insert(0, str(REPO / "bench"))
    import _runs

    with pytest.raises(ValueError, match="3 variants need as many colours"):
        _runs.chart({}, tmp_path / "c.png", ["a", "b", "c"], ["tab:red"] * 2, "t", "t")


def test_launch_logs_output_sets_one_thread_and_names_the_log_on_failure(tmp_path, monkeypatch):
    sys.path.insert(0, str(REPO / "bench"))
    import _runs

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    log = tmp_path / "ok.log"
    _runs.launch([sys.executable, "-c", "import os; print(os.environ['OMP_NUM_THREADS'])"], log)
    assert log.read_text().strip() == "1"
    bad = tmp_path / "bad.log"
    with pytest.raises(RuntimeError, match=r"exit 3\); see .*bad\.log"):
        _runs.launch([sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"], bad)
    assert "boom" in bad.read_text()


def test_evidence_suite_smoke_runs_every_arm_and_reuses_finished_runs(tmp_path):
    """The small-budget mode of bench/evidence.py (one seed, 2 iterations): every method's arms
    run from the commands the suite writes, and a rerun repeats nothing."""
    out = tmp_path / "evidence"
    args = ["--budget", "smoke", "--iters", "2", "--jobs", "2", "--keep-runs", "--out", str(out)]
    _run_bench("evidence.py", *args, timeout=900)
    res = json.loads((out / "evidence.json").read_text())
    assert res["failed"] == {} and res["seeds"] == [0] and res["iters"] == 2
    assert set(res["methods"]) == {
        "hl_deeplabv3plus",
        "hl_pspnet",
        "cac_deeplabv3plus",
        "u2pl",
        "hiast",
    }
    arms = {m: set(r["runs"]) for m, r in res["methods"].items()}
    assert arms["hl_deeplabv3plus"] == {
        "baseline", "hl", "hl_light", "hl_lambda3x", "hl_lambda10x", "hl_lambda30x",
        "hl_lambda100x", "baseline_lr2x", "baseline_lr4x", "hl_lambda100x_lr_half",
        "neg_hl_reversed", "pos_baseline_2x",
    }  # fmt: skip
    assert arms["u2pl"] == {"sup_only", "u2pl", "u2pl_hl"}
    assert arms["hiast"] == {"source_only", "hiast_round1"}
    hl = res["methods"]["hl_deeplabv3plus"]
    assert set(hl["controls"]) == {"neg_hl_reversed", "pos_baseline_2x"}
    also = hl["paired_differences_also_vs"]  # the lambda sweep against the 2x-lr baseline
    assert set(also) == {f"hl_lambda{x}x" for x in (3, 10, 30, 100)}
    assert {d["compared_with"] for d in also.values()} == {"baseline_lr2x"}
    assert "| compared with |" in (out / "evidence.md").read_text()
    assert hl["iters"]["pos_baseline_2x"] == 4 and hl["iters"]["hl"] == 2
    assert "mIoU[0,2)" in hl["runs"]["hl"]["0"]["difficulty"]  # the boundary-distance bins
    assert "hardshapes_evidence_sem_seg_train" in hl["commands_seed0"]["baseline"]
    runs = out / "runs"

    def last_losses(name):
        lines = (runs / name / "metrics.json").read_text().strip().splitlines()
        return [d for d in map(json.loads, lines) if "total_loss" in d][-1]

    # each arm trained what it says: HL's term is -lambda * sum(w l) < 0, the flipped one > 0
    assert last_losses("hl_deeplabv3plus.hl.seed0")["loss_hardness"] < 0
    assert last_losses("hl_deeplabv3plus.neg_hl_reversed.seed0")["loss_hardness"] > 0
    assert "loss_cac" in last_losses("cac_deeplabv3plus.cac.seed0")
    assert "loss_hardness" not in last_losses("hl_deeplabv3plus.baseline.seed0")
    assert (runs / "hiast.source_only.seed0" / "round1" / "train").is_dir()
    assert (out / "hl_deeplabv3plus.png").stat().st_size > 0
    assert "| hl_deeplabv3plus | HL |" in (out / "evidence.md").read_text()
    # a rerun finds every run's metrics and repeats none
    logs = {p: p.stat().st_mtime_ns for p in runs.glob("*.log")}
    _run_bench("evidence.py", *args, timeout=300)
    assert {p: p.stat().st_mtime_ns for p in runs.glob("*.log")} == logs
