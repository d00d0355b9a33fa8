#!/usr/bin/env python
"""HL gain on hardshapes: baseline vs HL, same budget, several seeds, per-class IoU.

    OMP_NUM_THREADS=1 python bench/hl_gain.py --iters 300 --seeds 0 1 2 --jobs 2 \
        --out output/bench/hl_gain

Each run is ``tools/train_net.py`` on a config pair that differs only in the HL wrapper
(default: the demo DeepLabV3+ and its ``_hl`` twin; ``--model pspnet`` for the PSPNet pair), with
``SEED s`` and ``SOLVER.MAX_ITER --iters``; runs go ``--jobs`` at a time, one thread each. The
script reads each run's ``sem_seg_metrics.json`` and writes, under ``--out``: ``hl_gain.json``
(every run, and per-class mean/std over seeds), ``hl_gain.png`` (per-class IoU bars with the
seed std) and prints a table in which the thin (pole, wire, crack) and small (stone) classes are
also reported as group means.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from tabulate import tabulate

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from hardseg.data.datasets.hardshapes import (  # noqa: E402
    HARDSHAPES_CLASSES,
    HARDSHAPES_SMALL_CLASS_IDS,
    HARDSHAPES_THIN_CLASS_IDS,
)

PAIRS = {
    "deeplabv3plus": (
        "configs/hardshapes/deeplabv3plus_R18_os8_bs8_600it.yaml",
        "configs/hardshapes/deeplabv3plus_R18_os8_hl_bs8_600it.yaml",
    ),
    "instant": (  # tiny models, for smoke tests
        "configs/quick_schedules/deeplabv3plus_R18_instant_test.yaml",
        "configs/quick_schedules/deeplabv3plus_R18_hl_instant_test.yaml",
    ),
    "pspnet": (
        "configs/hardshapes/pspnet_R18_os8_bs8_600it.yaml",
        "configs/hardshapes/pspnet_R18_os8_hl_bs8_600it.yaml",
    ),
}
DATASET = "hardshapes_sem_seg_val"


def run_one(config, seed, iters, out_dir, opts, log):
    """Train + evaluate one config; returns the metrics dict (``sem_seg`` results)."""
    cmd = [
        sys.executable,
        os.path.join(REPO, "tools/train_net.py"),
        "--config-file",
        os.path.join(REPO, config),
        "SEED",
        str(seed),
        "SOLVER.MAX_ITER",
        str(iters),
        "SOLVER.CHECKPOINT_PERIOD",
        str(10**9),
        "OUTPUT_DIR",
        out_dir,
        *opts,
    ]
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    start = time.perf_counter()
    with open(log, "w") as f:
        proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode}); see {log}")
    with open(os.path.join(out_dir, "inference", DATASET, "sem_seg_metrics.json")) as f:
        metrics = json.load(f)
    metrics = metrics.get("sem_seg", metrics)
    metrics["wall_s"] = time.perf_counter() - start
    return metrics


def class_iou(metrics):
    return [float(metrics[f"IoU-{c}"]) for c in HARDSHAPES_CLASSES]


def _mean_std(values):
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def summarize(runs):
    """``runs[variant][seed] -> metrics`` -> per-variant means/stds of per-class IoU, mIoU and
    the thin / small group means."""
    out = {}
    for variant, by_seed in runs.items():
        per_seed = [class_iou(m) for m in by_seed.values()]
        groups = {
            "mIoU": [statistics.mean(x) for x in per_seed],
            "thin_mIoU": [
                statistics.mean(x[i] for i in HARDSHAPES_THIN_CLASS_IDS) for x in per_seed
            ],
            "small_mIoU": [
                statistics.mean(x[i] for i in HARDSHAPES_SMALL_CLASS_IDS) for x in per_seed
            ],
            "pACC": [float(m["pACC"]) for m in by_seed.values()],
        }
        out[variant] = {
            "per_class_mean": {
                c: _mean_std([x[i] for x in per_seed])[0] for i, c in enumerate(HARDSHAPES_CLASSES)
            },
            "per_class_std": {
                c: _mean_std([x[i] for x in per_seed])[1] for i, c in enumerate(HARDSHAPES_CLASSES)
            },
            **{k: _mean_std(v)[0] for k, v in groups.items()},
            **{k + "_std": _mean_std(v)[1] for k, v in groups.items()},
            **{k + "_per_seed": v for k, v in groups.items()},
        }
    return out


def table(summary):
    rows = []
    names = list(HARDSHAPES_CLASSES) + ["thin_mIoU", "small_mIoU", "mIoU", "pACC"]
    for name in names:
        row = [name]
        for variant in ("baseline", "hl"):
            s = summary[variant]
            mean = s["per_class_mean"].get(name, s.get(name))
            std = s["per_class_std"].get(name, s.get(name + "_std"))
            row.append(f"{mean:.2f} ± {std:.2f}")
        b = summary["baseline"]["per_class_mean"].get(name, summary["baseline"].get(name))
        h = summary["hl"]["per_class_mean"].get(name, summary["hl"].get(name))
        row.append(f"{h - b:+.2f}")
        rows.append(row)
    return tabulate(rows, headers=["class / group", "baseline", "HL", "HL - baseline"])


def chart(summary, path):
    """Per-class IoU bars (mean over seeds, std as error bars), baseline vs HL."""
    names = list(HARDSHAPES_CLASSES) + ["thin", "small", "mIoU"]

    def values(v, key):
        s = summary[v]
        extra = {"thin": "thin_mIoU", "small": "small_mIoU", "mIoU": "mIoU"}
        return [
            s[key].get(n) if n in s[key] else s[extra[n] + ("_std" if key.endswith("std") else "")]
            for n in names
        ]

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # no matplotlib: plain bars with PIL
        return _chart_pil(
            names, values("baseline", "per_class_mean"), values("hl", "per_class_mean"), path
        )
    x = range(len(names))
    fig, ax = plt.subplots(figsize=(10, 4))
    for k, (variant, color) in enumerate((("baseline", "tab:gray"), ("hl", "tab:red"))):
        ax.bar(
            [i + (k - 0.5) * 0.4 for i in x],
            values(variant, "per_class_mean"),
            0.4,
            yerr=values(variant, "per_class_std"),
            color=color,
            label=variant,
            capsize=2,
        )
    ax.set_xticks(list(x))
    ax.set_xticklabels(names)
    ax.set_ylabel("IoU (%)")
    ax.set_title("hardshapes val: baseline vs HL (mean ± std over seeds)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _chart_pil(names, baseline, hl, path):
    """Grouped bars (IoU 0-100) without matplotlib: grey baseline, red HL, class names below."""
    from PIL import Image, ImageDraw

    w, h, top, bottom, slot = 80 * len(names) + 40, 300, 20, 40, 80
    img = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(img)
    scale = (h - top - bottom) / 100.0
    for i, (name, b, v) in enumerate(zip(names, baseline, hl)):
        x = 20 + i * slot
        for k, (val, color) in enumerate(((b, (128, 128, 128)), (v, (214, 39, 40)))):
            x0 = x + 10 + k * 30
            draw.rectangle([x0, h - bottom - val * scale, x0 + 28, h - bottom], fill=color)
        draw.text((x + 10, h - bottom + 8), name, fill="black")
    draw.text((20, 4), "hardshapes val IoU: baseline (grey) vs HL (red)", fill="black")
    img.save(path)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=sorted(PAIRS), default="deeplabv3plus")
    parser.add_argument("--iters", type=int, default=300)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time")
    parser.add_argument("--out", default="output/bench/hl_gain")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE overrides for every run")
    args = parser.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    baseline, hl = PAIRS[args.model]
    jobs = [(v, c, s) for s in args.seeds for v, c in (("baseline", baseline), ("hl", hl))]

    def work(job):
        variant, config, seed = job
        run_dir = os.path.join(out, f"{variant}_seed{seed}")
        return job, run_one(config, seed, args.iters, run_dir, args.opts, run_dir + ".log")

    start = time.perf_counter()
    runs = {"baseline": {}, "hl": {}}
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for (variant, _, seed), metrics in pool.map(work, jobs):
            runs[variant][seed] = metrics
            print(f"{variant} seed {seed}: mIoU {metrics['mIoU']:.2f} ({metrics['wall_s']:.0f} s)")
    summary = summarize(runs)
    print(table(summary))
    result = {
        "model": args.model,
        "configs": {"baseline": baseline, "hl": hl},
        "iters": args.iters,
        "seeds": args.seeds,
        "opts": args.opts,
        "jobs": args.jobs,
        "omp_threads": os.environ.get("OMP_NUM_THREADS", "1"),
        "thin_class_ids": list(HARDSHAPES_THIN_CLASS_IDS),
        "small_class_ids": list(HARDSHAPES_SMALL_CLASS_IDS),
        "wall_s": time.perf_counter() - start,
        "runs": {v: {str(s): m for s, m in r.items()} for v, r in runs.items()},
        "summary": summary,
        "table": table(summary),
    }
    png = chart(summary, os.path.join(out, "hl_gain.png"))
    result["chart"] = png
    with open(os.path.join(out, "hl_gain.json"), "w") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {os.path.join(out, 'hl_gain.json')}" + (f" and {png}" if png else ""))


if __name__ == "__main__":
    main()
