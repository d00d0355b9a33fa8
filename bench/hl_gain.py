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
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _runs  # noqa: E402
from _runs import (  # noqa: E402
    HARDSHAPES_SMALL_CLASS_IDS,
    HARDSHAPES_THIN_CLASS_IDS,
    run_one,
    summarize,
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


def table(summary):
    return _runs.table(
        summary,
        columns=[("baseline", "baseline"), ("hl", "HL")],
        deltas=[("hl", "baseline", "HL - baseline")],
    )


def chart(summary, path):
    """Per-class IoU bars (mean over seeds, std as error bars), baseline vs HL."""
    return _runs.chart(
        summary,
        path,
        variants=("baseline", "hl"),
        colors=("tab:gray", "tab:red"),
        title="hardshapes val: baseline vs HL (mean ± std over seeds)",
        pil_title="hardshapes val IoU: baseline (grey) vs HL (red)",
    )


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
