#!/usr/bin/env python
"""Method-vs-baseline evidence on hardshapes: does each method move the number its paper moves?

    OMP_NUM_THREADS=1 python bench/evidence.py --budget cpu --jobs 2 --out bench/results/evidence

One protocol for every method (docs/evidence.md): the "evidence" rendering profile of hardshapes
(``hardshapes_evidence_*``: the same scenes as the demo data with thicker, higher-contrast thin
structures and larger stones, so that the baseline learns every class), a quarter-width dilated
ResNet-18, whole-image evaluation on the 80 val images (the shifted domain's val for UDA) with
the distance-to-boundary bins ``TEST.DIFFICULTY_BINS``. Each arm is ``tools/train_net.py`` (or
``tools/run_self_training.py`` for HIAST) with ``SEED s``; every arm of a method runs the same
seeds, so a method is compared with its reference by **paired** differences (arm - reference per
seed): mean and a 95 % t interval (``scipy.stats.t``); a difference is "beyond the interval" when
the interval excludes 0.

Methods (``--methods``) and their arms, the reference first:

* ``hl_deeplabv3plus``: baseline, HL (official ``copy`` branch, lambda_HL 0.01), HL ``light``
  branch, HL with lambda_HL 0.03, 0.1, 0.3 and 1.0 (3x to 100x; each also compared with the
  2x-learning-rate baseline), the baseline at 2x and 4x the learning rate (does a larger step
  alone explain a gain?), HL at lambda_HL 1.0 with half the learning rate (about the baseline's
  step), and the two **controls** of the protocol: ``neg_hl_reversed`` (HL with lambda_HL -0.1,
  so the learned weights favour the easy pixels: must lose) and ``pos_baseline_2x`` (the
  baseline with twice the iterations: must win);
* ``hl_pspnet``: baseline vs HL on PSPNet (images upsampled to 256 px: at 128 px the stride-8
  PSPNet does not learn the thin classes in this budget);
* ``cac_deeplabv3plus``: baseline vs CAC over the DeepLabV3+ head (same baseline runs as HL);
* ``u2pl``: SupOnly vs U2PL vs U2PL + HL on the fixed 1/16 labeled split (``bench/semisup.py``'s
  arms and schedule);
* ``hiast``: source only vs HIAST round 1 on hardshapes -> hardshapes_shifted (one chain per seed:
  source-only stage, pseudo-labels, one self-training round; no adversarial warm-up).

Budgets (``--budget``): ``smoke`` (one seed, a few iterations: the test suite runs it so the
script cannot silently break; its numbers mean nothing), ``cpu`` (3 seeds, about an hour on two
cores with ``--jobs 2``), ``gpu`` (5 seeds, longer schedule, ``MODEL.DEVICE cuda``; run on a GPU
machine). ``--seeds`` / ``--iters`` override the budget.

Writes under ``--out``: ``<method>.json`` (command lines, device, every run's metrics, per-arm
mean/std, paired differences with their intervals) and ``<method>.png`` (per-class IoU bars),
``evidence.json`` (all methods) and ``evidence.md`` (the table README quotes); runs go to
``--runs`` (default ``--out/runs``; ``--keep-runs`` keeps them, by default only each run's log and
metrics are kept). A run that
already has its metrics under ``--out/runs`` is not repeated (rerun the same command to finish an
interrupted suite).
"""

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _runs  # noqa: E402
from _runs import (  # noqa: E402
    HARDSHAPES_SMALL_CLASS_IDS,
    HARDSHAPES_THIN_CLASS_IDS,
    REPO,
    summarize,
)
from semisup import ARMS as SEMISUP_ARMS  # noqa: E402
from semisup import crop_opts, schedule  # noqa: E402

TRAIN = "hardshapes_evidence_sem_seg_train"
VAL = "hardshapes_evidence_sem_seg_val"
TARGET_TRAIN = "hardshapes_evidence_shifted_sem_seg_train"
TARGET_VAL = "hardshapes_evidence_shifted_sem_seg_val"
BINS = "[0, 2, 4, 8, 16]"
GROUPS = ("mIoU", "thin_mIoU", "small_mIoU")
# paired differences also shown for the pixels within 2 px of a boundary (TEST.DIFFICULTY_BINS)
BOUNDARY_BIN = "mIoU[0,2)"

# Shared by every arm: the evidence data, whole 128x128 images, boundary-distance bins.
DATA = [
    "DATASETS.TRAIN", f'("{TRAIN}",)',
    "DATASETS.TEST", f'("{VAL}",)',
    "TEST.DIFFICULTY_BINS", BINS,
    "DATALOADER.NUM_WORKERS", "0",
]  # fmt: skip
# A quarter-width dilated ResNet-18 (res2 16 channels ... res5 128).
QUARTER = ["MODEL.RESNETS.STEM_OUT_CHANNELS", "16", "MODEL.RESNETS.RES2_OUT_CHANNELS", "16"]
DLV3P = QUARTER + [
    "MODEL.SEM_SEG_HEAD.PROJECT_CHANNELS", "[16]",
    "MODEL.SEM_SEG_HEAD.ASPP_CHANNELS", "64",
    "MODEL.SEM_SEG_HEAD.CONVS_DIM", "64",
]  # fmt: skip
CROP128 = crop_opts(128)  # whole 128x128 images
# PSPNet (stride 8, no low-level features) does not learn the thin classes at 128 px in this
# budget (thin mIoU 4.7 on the first recorded run): its arms see the images upsampled to 256 px
# (evaluated at the label size as always).
CROP256 = crop_opts(256)
DLV3P_CFG = "configs/hardshapes/deeplabv3plus_R18_os8_bs8_600it.yaml"
DLV3P_HL_CFG = "configs/hardshapes/deeplabv3plus_R18_os8_hl_bs8_600it.yaml"
PSP_CFG = "configs/hardshapes/pspnet_R18_os8_bs8_600it.yaml"
PSP_HL_CFG = "configs/hardshapes/pspnet_R18_os8_hl_bs8_600it.yaml"
U2PL_CFG = "configs/hardshapes/u2pl_deeplabv3plus_R18_instant_test_1-16.yaml"
UDA_CFG = "configs/hardshapes/uda"
CAC = [
    "MODEL.SEM_SEG_HEAD.NAME", "ConfidenceAwareContrastiveHead",
    "MODEL.CAC.HEAD_NAME", "DeepLabV3PlusPerPixelHead",
    "MODEL.CAC.PROJ_CHANNELS", "64",
    "MODEL.CAC.THRESHOLD", "20",  # 32x32 features of 128x128 images (official 100 at 128x256)
]  # fmt: skip
U2PL_DATA = [
    "DATASETS.TRAIN", f'("{TRAIN}_1-16_labeled",)',
    "DATASETS.TRAIN_UNLABELED", f'("{TRAIN}_1-16_unlabeled",)',
    "SOLVER.IMS_PER_BATCH", "4",
    "SOLVER.IMS_PER_BATCH_UNLABELED", "4",
    "MODEL.SEMISUP.U2PL.EMBED_DIM", "32",
]  # fmt: skip
UDA = QUARTER + [
    "DATASETS.TEST", f'("{TARGET_VAL}",)',
    "TEST.DIFFICULTY_BINS", BINS,
    "INPUT.MIN_SIZE_TRAIN", "(128,)",
    "INPUT.MIN_SIZE_TEST", "128",
    "INPUT.CROP.SIZE", "(128, 128)",
    "INPUT.UDA.CROP_HEIGHT_RANGE", "[96, 128]",
    "INPUT.UDA.OUTPUT_SIZE", "[128, 128]",
    "SOLVER.IMS_PER_BATCH", "8",
]  # fmt: skip


class Arm:
    """One arm: ``tools/train_net.py --config-file config`` + ``opts`` for ``iters_factor`` times
    the budget's iterations; ``kind`` "hiast" arms read a stage of one HIAST chain instead;
    ``also_vs`` names a second arm this one is compared with besides the method's reference."""

    def __init__(
        self, label, config, opts=(), iters_factor=1, kind="train", stage=None, also_vs=None
    ):
        self.label, self.config, self.opts = label, config, list(opts)
        self.iters_factor, self.kind, self.stage = iters_factor, kind, stage
        self.also_vs = also_vs  # a second arm of the method to compare with (paired), or None


def methods():
    """method -> (reference arm, {arm: Arm}, {arm: expected sign of arm - reference} controls)."""
    dl = DATA + CROP128 + DLV3P
    psp = DATA + CROP256 + QUARTER
    semi = DATA + CROP128 + DLV3P + U2PL_DATA
    baseline = Arm("baseline", DLV3P_CFG, dl)
    return {
        "hl_deeplabv3plus": (
            "baseline",
            {
                "baseline": baseline,
                "hl": Arm("HL", DLV3P_HL_CFG, dl),
                "hl_light": Arm("HL light", DLV3P_HL_CFG, dl + ["MODEL.HARDNESS.BRANCH", "light"]),
                **{
                    f"hl_lambda{x}x": Arm(
                        f"HL, lambda {lam} ({x}x official)",
                        DLV3P_HL_CFG,
                        dl + ["MODEL.HARDNESS.LOSS_WEIGHT", lam],
                        also_vs="baseline_lr2x",
                    )
                    for x, lam in ((3, "0.03"), (10, "0.1"), (30, "0.3"), (100, "1.0"))
                },
                # HL's weighted loss is larger than the mean loss once the weights favour the
                # high-loss pixels, like a larger step: is a larger learning rate alone the gain?
                "baseline_lr2x": Arm(
                    "baseline, 2x learning rate", DLV3P_CFG, dl + ["SOLVER.BASE_LR", "0.04"]
                ),
                "baseline_lr4x": Arm(
                    "baseline, 4x learning rate", DLV3P_CFG, dl + ["SOLVER.BASE_LR", "0.08"]
                ),
                # HL's weighted loss is about twice the mean loss at lambda 1.0: at half the
                # learning rate its step is about the baseline's, so what is left is re-weighting
                "hl_lambda100x_lr_half": Arm(
                    "HL, lambda 1.0, 1/2 learning rate",
                    DLV3P_HL_CFG,
                    dl + ["MODEL.HARDNESS.LOSS_WEIGHT", "1.0", "SOLVER.BASE_LR", "0.01"],
                ),
                "neg_hl_reversed": Arm(
                    "neg. control: HL reversed, lambda -0.1",
                    DLV3P_HL_CFG,
                    dl + ["MODEL.HARDNESS.LOSS_WEIGHT", "-0.1"],
                ),
                "pos_baseline_2x": Arm("pos. control: baseline, 2x iterations", DLV3P_CFG, dl, 2),
            },
            {"neg_hl_reversed": -1, "pos_baseline_2x": +1},
        ),
        "hl_pspnet": (
            "baseline",
            {"baseline": Arm("baseline", PSP_CFG, psp), "hl": Arm("HL", PSP_HL_CFG, psp)},
            {},
        ),
        "cac_deeplabv3plus": (
            "baseline",
            {"baseline": baseline, "cac": Arm("CAC", DLV3P_CFG, dl + CAC)},
            {},
        ),
        "u2pl": (
            "sup_only",
            {arm: Arm(label, U2PL_CFG, semi + opts) for arm, (label, opts) in SEMISUP_ARMS.items()},
            {},
        ),
        "hiast": (
            "source_only",
            {
                "source_only": Arm("source only", UDA_CFG, UDA, kind="hiast", stage="stage0"),
                "hiast_round1": Arm("HIAST round 1", UDA_CFG, UDA, kind="hiast", stage="round1"),
            },
            {},
        ),
    }


BUDGETS = {
    # name -> iterations (1x arms), seeds, runs at a time, extra opts
    "smoke": {"iters": 4, "seeds": [0], "jobs": 2, "opts": ["SOLVER.WARMUP_ITERS", "1"]},
    "cpu": {"iters": 800, "seeds": [0, 1, 2], "jobs": 2, "opts": []},
    # several small runs share the GPU (each also uses one CPU thread for its data)
    "gpu": {"iters": 1600, "seeds": [0, 1, 2, 3, 4], "jobs": 8, "opts": ["MODEL.DEVICE", "cuda"]},
}
SEMI_EPOCHS, SEMI_SUP_ONLY_EPOCHS = 8, 2


def arm_command(arm, seed, iters, out_dir, extra):
    """The command line of one run (a list) and the metrics file it writes."""
    iters = iters * arm.iters_factor
    if arm.kind == "hiast":
        chain = [
            "--output-dir", out_dir,
            "--source-config", f"{arm.config}/deeplabv2_R18_source_only_tiny.yaml",
            "--round-config", f"{arm.config}/hiast_deeplabv2_R18_round_tiny.yaml",
            "--seed", str(seed), "--stop-after", "round1",
            "--round-opts", "DATASETS.TRAIN", f'("{TARGET_TRAIN}",)', "--",
        ]  # fmt: skip
        opts = ["DATASETS.TRAIN", f'("{TRAIN}",)', *arm.opts, "SEED", str(seed)]
        opts += ["SOLVER.MAX_ITER", str(iters), "SOLVER.CHECKPOINT_PERIOD", str(iters), *extra]
        cmd = [sys.executable, "tools/run_self_training.py", *chain, *opts]
        sub = {"stage0": "stage0", "round1": "round1/train"}
        return cmd, {
            s: os.path.join(out_dir, d, "inference", TARGET_VAL, "sem_seg_metrics.json")
            for s, d in sub.items()
        }
    opts = list(arm.opts)
    if arm.config == U2PL_CFG:
        sched = schedule(iters, SEMI_EPOCHS, SEMI_SUP_ONLY_EPOCHS)
        opts += ["MODEL.SEMISUP.EPOCH_ITERS", str(sched["epoch_iters"])]
        opts += ["MODEL.SEMISUP.SUP_ONLY_EPOCHS", str(SEMI_SUP_ONLY_EPOCHS)]
    cmd = [
        sys.executable, "tools/train_net.py", "--config-file", arm.config,
        "SEED", str(seed), "SOLVER.MAX_ITER", str(iters),
        "SOLVER.CHECKPOINT_PERIOD", str(10**9), "OUTPUT_DIR", out_dir, *opts, *extra,
    ]  # fmt: skip
    return cmd, {None: os.path.join(out_dir, "inference", VAL, "sem_seg_metrics.json")}


def run_key(arm, seed):
    """Arms that run the same command share one run (the baseline of HL and CAC, the two stages
    of one HIAST chain)."""
    return f"{arm.config}|{arm.opts}|{arm.iters_factor}|{arm.kind}|{seed}"


def read_metrics(path):
    """``sem_seg`` metrics of one evaluation, with the boundary-distance bins under
    ``"difficulty"``."""
    with open(path) as f:
        res = json.load(f)
    metrics = dict(res["sem_seg"])
    metrics["difficulty"] = res.get("sem_seg_difficulty", {})
    return metrics


def run(cmd, metric_files, out_dir, keep):
    """Run one command unless its metrics are there already; returns {stage: metrics}."""
    record = out_dir + ".metrics.json"
    if os.path.exists(record):
        with open(record) as f:
            return json.load(f)
    start = time.perf_counter()
    shutil.rmtree(out_dir, ignore_errors=True)
    _runs.launch(cmd, out_dir + ".log")
    out = {str(stage): read_metrics(path) for stage, path in metric_files.items()}
    for m in out.values():
        m["wall_s"] = time.perf_counter() - start
    with open(record + ".tmp", "w") as f:
        json.dump(out, f)
    os.replace(record + ".tmp", record)
    if not keep:
        shutil.rmtree(out_dir, ignore_errors=True)
    return out


def t_interval(diffs):
    """(mean, half-width of the two-sided 95 % t interval); half-width NaN for one value."""
    from scipy.stats import t

    n = len(diffs)
    mean = statistics.mean(diffs)
    if n < 2:
        return mean, float("nan")
    return mean, t.ppf(0.975, n - 1) * statistics.stdev(diffs) / math.sqrt(n)


def group_values(metrics):
    """mIoU, thin / small group means and the per-bin mIoU of one run."""
    iou = _runs.class_iou(metrics)
    out = {
        "mIoU": statistics.mean(iou),
        "thin_mIoU": statistics.mean(iou[i] for i in HARDSHAPES_THIN_CLASS_IDS),
        "small_mIoU": statistics.mean(iou[i] for i in HARDSHAPES_SMALL_CLASS_IDS),
    }
    for key, value in metrics.get("difficulty", {}).items():
        if key.startswith("mIoU"):
            out[key] = value
    return out


def paired(runs, arm, reference):
    """Paired differences arm - reference over the seeds both have, per group value."""
    seeds = sorted(set(runs[arm]) & set(runs[reference]))
    out = {"seeds": seeds}
    if not seeds:
        return out
    keys = group_values(runs[arm][seeds[0]])
    for key in keys:
        diffs = [
            group_values(runs[arm][s])[key] - group_values(runs[reference][s])[key] for s in seeds
        ]
        mean, half = t_interval(diffs)
        out[key] = {
            "mean": mean,
            "ci95": [mean - half, mean + half],
            "per_seed": diffs,
            "beyond_interval": bool(half == half and (mean - half > 0 or mean + half < 0)),
        }
    return out


def method_table(name, reference, arms, summary, diffs):
    """Markdown rows: one per arm (mean ± std of the groups; the paired difference vs the
    reference with its 95 % interval for mIoU / thin / small / the boundary bin)."""
    rows = []
    for arm, spec in arms.items():
        if arm not in summary:
            continue
        s = summary[arm]
        cells = [name, spec.label]
        cells += [f"{s[g]:.2f} ± {s[g + '_std']:.2f}" for g in GROUPS]
        if arm == reference:
            cells += ["(reference)"] * (len(GROUPS) + 1)
        else:
            cells += diff_cells(diffs[arm])
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def diff_cells(diff):
    """Table cells "mean [lo, hi]" of one paired difference for mIoU / thin / small / the
    boundary bin ("n/a" where a value is missing)."""
    cells = []
    for g in GROUPS + (BOUNDARY_BIN,):
        d = diff.get(g)
        if d is None:
            cells.append("n/a")
            continue
        lo, hi = d["ci95"]
        ci = "" if lo != lo else f" [{lo:+.2f}, {hi:+.2f}]"
        cells.append(f"{d['mean']:+.2f}{ci}")
    return cells


TABLE_HEAD = [
    "| method | arm | mIoU | thin mIoU | small mIoU | Δ mIoU [95 % CI] | Δ thin | Δ small"
    " | Δ mIoU ≤ 2 px from a boundary |",
    "|---|---|---|---|---|---|---|---|---|",
]
# paired differences of arms against a second arm (Arm.also_vs)
ALSO_VS_HEAD = [
    "| method | arm | compared with | Δ mIoU [95 % CI] | Δ thin | Δ small"
    " | Δ mIoU ≤ 2 px from a boundary |",
    "|---|---|---|---|---|---|---|",
]


def _git_commit():
    """HEAD's commit (with "+dirty" when tracked files other than the recorded results under
    bench/results differ), or "unknown" outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = (
            subprocess.run(
                ["git", "diff", "--quiet", "HEAD", "--", ".", ":(exclude)bench/results"], cwd=REPO
            ).returncode
            != 0
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="cpu")
    parser.add_argument("--methods", nargs="+", default=None, help="default: all")
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    parser.add_argument("--iters", type=int, default=None)
    parser.add_argument("--jobs", type=int, default=None, help="runs at a time (budget's)")
    parser.add_argument("--out", default="output/bench/evidence")
    parser.add_argument("--keep-runs", action="store_true")
    parser.add_argument("--runs", default=None, help="run directories (default: --out/runs)")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE overrides for every run")
    args = parser.parse_args(argv)
    budget = BUDGETS[args.budget]
    seeds = args.seeds if args.seeds is not None else budget["seeds"]
    iters = args.iters if args.iters is not None else budget["iters"]
    extra = budget["opts"] + args.opts
    jobs_at_once = args.jobs or budget["jobs"]
    all_methods = methods()
    names = args.methods or list(all_methods)
    unknown = sorted(set(names) - set(all_methods))
    if unknown:
        parser.error(f"unknown --methods {unknown}; choose from {sorted(all_methods)}")
    out = os.path.abspath(args.out)
    run_root = os.path.abspath(args.runs) if args.runs else os.path.join(out, "runs")
    os.makedirs(run_root, exist_ok=True)
    os.makedirs(out, exist_ok=True)

    # One job per distinct command (the baseline is shared by HL and CAC; a HIAST chain serves
    # both of its arms); the longest first so that --jobs stay busy.
    jobs = {}
    for name in names:
        _, arms, _ = all_methods[name]
        for arm_name, arm in arms.items():
            for seed in seeds:
                jobs.setdefault(run_key(arm, seed), (arm, seed, f"{name}.{arm_name}.seed{seed}"))
    commands = {}
    for tag, (arm, seed, run_name) in jobs.items():
        run_dir = os.path.join(run_root, run_name)
        commands[tag] = (*arm_command(arm, seed, iters, run_dir, extra), run_dir)
    order = sorted(commands, key=lambda t: -jobs[t][0].iters_factor * (3 if "U2PL" in t else 1))
    start = time.perf_counter()
    results, failed = {}, {}

    def work(tag):
        cmd, files, run_dir = commands[tag]
        return tag, run(cmd, files, run_dir, args.keep_runs)

    reused = [t for t in order if os.path.exists(commands[t][2] + ".metrics.json")]
    with ThreadPoolExecutor(max_workers=jobs_at_once) as pool:
        futures = {tag: pool.submit(work, tag) for tag in order}
        for tag, fut in futures.items():
            try:
                results[tag] = fut.result()[1]
                print(f"done {jobs[tag][2]} ({time.perf_counter() - start:.0f} s)", flush=True)
            except Exception as e:  # report and go on: the other methods are still summarized
                failed[jobs[tag][2]] = str(e)
                print(f"FAILED {jobs[tag][2]}: {e}", flush=True)

    device = f"CPU ({platform.machine()}, {os.cpu_count()} cores)"
    if "cuda" in extra:
        import torch

        device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cuda"
    report = {
        "command": " ".join([os.path.relpath(sys.argv[0], REPO), *(argv or sys.argv[1:])]),
        "budget": args.budget,
        "seeds": seeds,
        "iters": iters,
        "jobs": jobs_at_once,
        "device": device,
        "omp_threads": os.environ.get("OMP_NUM_THREADS", "1"),
        "commit": _git_commit(),
        "wall_s": time.perf_counter() - start,
        "runs": len(results),
        "runs_reused": len(reused),
        # every run's own time (a HIAST chain counted once), jobs_at_once of them at a time
        "run_time_s_total": sum(next(iter(r.values()))["wall_s"] for r in results.values()),
        "failed": failed,
        "methods": {},
    }
    lines, also_lines = list(TABLE_HEAD), []
    for name in names:
        reference, arms, controls = all_methods[name]
        runs = {}
        for arm_name, arm in arms.items():
            for seed in seeds:
                stages = results.get(run_key(arm, seed))
                if stages is not None:
                    runs.setdefault(arm_name, {})[seed] = stages[str(arm.stage)]
        if reference not in runs:
            continue
        summary = summarize(runs)
        diffs = {a: paired(runs, a, reference) for a in runs if a != reference}
        also = {
            a: {"compared_with": arms[a].also_vs, **paired(runs, a, arms[a].also_vs)}
            for a in runs
            if arms[a].also_vs in runs
        }
        for a, d in also.items():
            cells = [name, arms[a].label, arms[d["compared_with"]].label, *diff_cells(d)]
            also_lines.append("| " + " | ".join(cells) + " |")
        checks = {
            a: {
                "expected": "worse" if sign < 0 else "better",
                "separates": bool(
                    a in diffs
                    and diffs[a].get("mIoU", {}).get("beyond_interval")
                    and sign * diffs[a]["mIoU"]["mean"] > 0
                ),
            }
            for a, sign in controls.items()
        }
        commands_used = {
            a: " ".join(os.path.relpath(c, REPO) if c == sys.executable else c for c in cmd)
            for a, arm in arms.items()
            for tag, (cmd, _, _) in commands.items()
            if jobs[tag][0] is arm and jobs[tag][1] == seeds[0]
        }
        rows = method_table(name, reference, arms, summary, diffs)
        lines += rows
        method = {
            "reference": reference,
            "labels": {a: arm.label for a, arm in arms.items()},
            "iters": {a: iters * arm.iters_factor for a, arm in arms.items()},
            "commands_seed0": commands_used,
            "runs": {a: {str(s): m for s, m in r.items()} for a, r in runs.items()},
            "summary": summary,
            "paired_differences": diffs,
            "paired_differences_also_vs": also,
            "controls": checks,
            "table": rows,
        }
        palette = ["tab:gray", "tab:red", "tab:orange", "tab:purple", "tab:green", "tab:blue"]
        palette += ["tab:brown", "tab:pink", "tab:olive", "tab:cyan", "black", "gold"]
        present = [a for a in arms if a in runs]
        method["chart"] = _runs.chart(
            summary,
            os.path.join(out, f"{name}.png"),
            variants=present,
            colors=palette[: len(present)],
            title=f"hardshapes evidence: {name} (mean ± std over {len(seeds)} seeds)",
            pil_title=f"{name}: " + ", ".join(present),
            labels=[arms[a].label for a in present],
        )
        report["methods"][name] = method
        with open(os.path.join(out, f"{name}.json"), "w") as f:
            json.dump(
                {**{k: v for k, v in report.items() if k != "methods"}, **method}, f, indent=2
            )
        for a, c in checks.items():
            print(f"control {name}/{a}: expected {c['expected']}, separates: {c['separates']}")
    if also_lines:
        lines += ["", "Paired differences against a second arm of the method:", ""]
        lines += ALSO_VS_HEAD + also_lines
    table_text = "\n".join(lines)
    print(table_text)
    report["table"] = table_text
    with open(os.path.join(out, "evidence.json"), "w") as f:
        json.dump(report, f, indent=2)
    with open(os.path.join(out, "evidence.md"), "w") as f:
        f.write(
            f"`{report['command']}` on {device}, {len(seeds)} seed(s), {iters} iterations"
            f" (x2 for the positive control); {report['runs']} runs taking"
            f" {report['run_time_s_total'] / 60:.0f} min in all, {jobs_at_once} at a time"
            f" ({report['runs_reused']} reused from an earlier invocation); commit"
            f" {report['commit'][:12]}. Mean ± std over seeds; Δ: paired difference to the"
            " method's reference, mean [95 % t interval].\n\n" + table_text + "\n"
        )
    print(f"wrote {os.path.join(out, 'evidence.json')}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
