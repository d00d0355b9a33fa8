#!/usr/bin/env python
"""Semi-supervised gain on hardshapes 1/16: SupOnly vs U2PL vs U2PL+HL, same budget, several seeds.

    OMP_NUM_THREADS=1 python bench/semisup.py --iters 600 --seeds 0 1 2 --jobs 2 \
        --out output/bench/semisup

All arms are ``tools/train_net.py`` on ONE config, ``--config`` (default
``configs/hardshapes/u2pl_deeplabv3plus_R18_instant_test_1-16.yaml``: U2PL with the instant-test
DeepLabV3+, 2 labeled + 2 unlabeled images per step, 25 labeled / 375 unlabeled train images of the
fixed 1/16 split), turned into the three arms by command-line overrides only, so the model, data
and schedule are shared:

* ``sup_only`` (SupOnly): ``MODEL.META_ARCHITECTURE HardSegmentor DATASETS.TRAIN_UNLABELED ()``
  -- the same student trained on the labeled stream alone (the trainer builds the plain loader
  when ``DATASETS.TRAIN_UNLABELED`` is empty; the ``MODEL.SEMISUP`` keys are then unused);
* ``u2pl`` (U2PL): the config as is (evaluated with its EMA teacher, ``MODEL.SEMISUP.EVAL_MODEL``);
* ``u2pl_hl`` (U2PL+HL): ``MODEL.HARDNESS.ENABLED True MODEL.SEM_SEG_HEAD.NAME HardnessHead``.

Every run gets ``SEED s``, ``SOLVER.MAX_ITER --iters`` and the U2PL schedule scaled to the budget:
``MODEL.SEMISUP.EPOCH_ITERS = max(1, iters // --epochs)`` and ``MODEL.SEMISUP.SUP_ONLY_EPOCHS
--sup-only-epochs``, i.e. with the defaults (8 epochs, 2 sup-only) the supervised-only burn-in is
a fixed 25% of the budget (the base config's 20 iterations: 5 per epoch, 1 sup-only epoch, is
also 25%), whatever ``--iters`` is; the DPA schedule then runs over 8 "epochs". (The official
epoch, one pass over the unlabeled set, would be 187 iterations here and make the burn-in fraction
depend on the budget.) Then ``--crop S`` (``INPUT.CROP.SIZE (S, S)``, ``INPUT.MIN_SIZE_TRAIN
(S,)``, ``INPUT.MIN_SIZE_TEST S``), the arm's overrides and the trailing ``KEY VALUE`` opts, which
apply to every run. The labeled split is fixed (``HARDSHAPES_SEMISUP_SEED``); the seed changes the
initialisation, sampling and augmentation.

Cost: detectron2's ``OUTPUT_DIR/metrics.json`` holds, every 20 iterations, the median step time
of the last 20 iterations. A run's ``iter_time_s`` is the mean of those whose window lies after
the burn-in (iteration >= burn-in + 19), the same iterations for every arm; SupOnly and U2PL share
the labeled batch (``SOLVER.IMS_PER_BATCH``), U2PL adds the unlabeled batch and the teacher. The
table and JSON give each arm's time per iteration and its ratio to SupOnly. A run too short for a
post-burn-in window falls back to its last window (``iter_time_window: "last"``). Runs that share
the CPU (``--jobs`` > 1) slow each other down: use ``--jobs 1`` for cleaner times.

Writes, under ``--out``: ``<arm>_seed<s>/`` and ``.log`` per run, ``semisup.json`` (every run,
per-class IoU / mIoU / thin / small / pACC mean and std over seeds, the cost) and ``semisup.png``
(per-class IoU bars with the seed std); prints a table. A failed run is reported and recorded
under ``failed`` (the other arms are still summarized) and the script exits 1; ``--arms`` leaves
an arm out.
"""

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _runs  # noqa: E402
from _runs import (  # noqa: E402
    HARDSHAPES_SMALL_CLASS_IDS,
    HARDSHAPES_THIN_CLASS_IDS,
    iteration_times,
    mean_std,
    run_one,
    summarize,
)

CONFIG = "configs/hardshapes/u2pl_deeplabv3plus_R18_instant_test_1-16.yaml"
# arm -> (label, overrides of the base config)
ARMS = {
    "sup_only": (
        "SupOnly",
        ["MODEL.META_ARCHITECTURE", "HardSegmentor", "DATASETS.TRAIN_UNLABELED", "()"],
    ),
    "u2pl": ("U2PL", []),
    "u2pl_hl": (
        "U2PL+HL",
        ["MODEL.HARDNESS.ENABLED", "True", "MODEL.SEM_SEG_HEAD.NAME", "HardnessHead"],
    ),
}
COLORS = {"sup_only": "tab:gray", "u2pl": "tab:blue", "u2pl_hl": "tab:red"}
TIME_WINDOW = 20  # detectron2 JSONWriter's smoothing window (and PeriodicWriter's period)


def schedule(iters, epochs, sup_only_epochs):
    """The ``MODEL.SEMISUP`` schedule for a budget of ``iters`` iterations."""
    epoch_iters = max(1, iters // epochs)
    burn_in = min(iters, sup_only_epochs * epoch_iters)
    return {
        "epoch_iters": epoch_iters,
        "sup_only_epochs": sup_only_epochs,
        "epochs": iters / epoch_iters,
        "burn_in_iters": burn_in,
        "burn_in_fraction": burn_in / iters,
    }


def crop_opts(size):
    if not size:
        return []
    return [
        "INPUT.CROP.SIZE",
        f"({size}, {size})",
        "INPUT.MIN_SIZE_TRAIN",
        f"({size},)",
        "INPUT.MIN_SIZE_TEST",
        str(size),
    ]


def iter_time(run_dir, burn_in):
    """(mean post-burn-in step time, which windows): see the module docstring."""
    times = iteration_times(run_dir)
    after = [t for it, t in times if it >= burn_in + TIME_WINDOW - 1]
    if after:
        return statistics.mean(after), f"iteration >= {burn_in + TIME_WINDOW - 1}"
    if times:
        return times[-1][1], "last"
    return None, "none"


def cost(runs, arms):
    """Per-arm mean/std of ``iter_time_s`` over seeds and the ratio of the means to SupOnly."""
    out = {"iter_time_s": {}, "iter_time_s_std": {}, "ratio_vs_sup_only": {}}
    for arm in arms:
        ts = [m["iter_time_s"] for m in runs[arm].values() if m.get("iter_time_s") is not None]
        if ts:
            out["iter_time_s"][arm], out["iter_time_s_std"][arm] = mean_std(ts)
    base = out["iter_time_s"].get("sup_only")
    if base:
        out["ratio_vs_sup_only"] = {a: t / base for a, t in out["iter_time_s"].items()}
    return out


def table(summary, arms, costs):
    columns = [(a, ARMS[a][0]) for a in arms]
    deltas = [(a, "sup_only", f"{ARMS[a][0]} - SupOnly") for a in arms if a != "sup_only"]
    if "sup_only" not in arms:
        deltas = []
    if "u2pl" in arms and "u2pl_hl" in arms:
        deltas.append(("u2pl_hl", "u2pl", "U2PL+HL - U2PL"))
    pad = [""] * len(deltas)
    times, stds, ratios = costs["iter_time_s"], costs["iter_time_s_std"], costs["ratio_vs_sup_only"]
    extra = [
        ["s / iter"]
        + [f"{times[a]:.4f} ± {stds[a]:.4f}" if a in times else "-" for a in arms]
        + pad,
        ["cost / SupOnly"] + [f"{ratios[a]:.2f}x" if a in ratios else "-" for a in arms] + pad,
    ]
    return _runs.table(summary, columns, deltas, extra_rows=extra)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=CONFIG, help="the U2PL config all arms derive from")
    parser.add_argument("--arms", nargs="+", choices=list(ARMS), default=list(ARMS))
    parser.add_argument("--iters", type=int, default=600, help="SOLVER.MAX_ITER of every run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time")
    parser.add_argument("--epochs", type=int, default=8, help="U2PL epochs in the budget")
    parser.add_argument("--sup-only-epochs", type=int, default=2, help="of --epochs")
    parser.add_argument("--crop", type=int, default=0, help="train crop / test size (0: config)")
    parser.add_argument("--out", default="output/bench/semisup")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE overrides for every run")
    args = parser.parse_args()
    arms = [a for a in ARMS if a in args.arms]  # table order
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    sched = schedule(args.iters, args.epochs, args.sup_only_epochs)
    common = [
        "MODEL.SEMISUP.EPOCH_ITERS",
        str(sched["epoch_iters"]),
        "MODEL.SEMISUP.SUP_ONLY_EPOCHS",
        str(sched["sup_only_epochs"]),
        *crop_opts(args.crop),
    ]
    arm_opts = {a: common + ARMS[a][1] + list(args.opts) for a in arms}

    def work(job):
        arm, seed = job
        run_dir = os.path.join(out, f"{arm}_seed{seed}")
        try:
            m = run_one(args.config, seed, args.iters, run_dir, arm_opts[arm], run_dir + ".log")
        except Exception as e:  # noqa: BLE001  (recorded, the other runs go on)
            return job, None, f"{type(e).__name__}: {e}"
        try:
            m["iter_time_s"], m["iter_time_window"] = iter_time(run_dir, sched["burn_in_iters"])
        except (OSError, ValueError) as e:
            m["iter_time_s"], m["iter_time_window"] = None, f"unreadable: {e}"
        return job, m, None

    start = time.perf_counter()
    runs = {a: {} for a in arms}
    failed = {}
    jobs = [(a, s) for s in args.seeds for a in arms]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for (arm, seed), m, err in pool.map(work, jobs):
            if err:
                failed.setdefault(arm, {})[str(seed)] = err
                print(f"{ARMS[arm][0]} seed {seed}: FAILED: {err.splitlines()[0]}")
                continue
            runs[arm][seed] = m
            t = m["iter_time_s"]
            print(
                f"{ARMS[arm][0]} seed {seed}: mIoU {m['mIoU']:.2f}, "
                + (f"{t:.4f} s/iter" if t is not None else "no iteration time")
                + f" ({m['wall_s']:.0f} s)"
            )
    done = [a for a in arms if runs[a]]
    summary = summarize({a: runs[a] for a in done})
    costs = cost(runs, done)
    for a in done:
        summary[a]["iter_time_s"] = costs["iter_time_s"].get(a)
        summary[a]["iter_time_s_std"] = costs["iter_time_s_std"].get(a)
    text = table(summary, done, costs) if done else "(no run finished)"
    print(text)
    result = {
        "config": args.config,
        "arms": {a: {"label": ARMS[a][0], "opts": arm_opts[a]} for a in arms},
        "iters": args.iters,
        "seeds": args.seeds,
        "schedule": sched,
        "crop": args.crop or None,
        "opts": args.opts,
        "jobs": args.jobs,
        "omp_threads": os.environ.get("OMP_NUM_THREADS", "1"),
        "thin_class_ids": list(HARDSHAPES_THIN_CLASS_IDS),
        "small_class_ids": list(HARDSHAPES_SMALL_CLASS_IDS),
        "wall_s": time.perf_counter() - start,
        "runs": {a: {str(s): m for s, m in r.items()} for a, r in runs.items()},
        "failed": failed,
        "summary": summary,
        "cost": costs,
        "table": text,
        "chart": None,
    }
    if done:
        result["chart"] = _runs.chart(
            summary,
            os.path.join(out, "semisup.png"),
            variants=done,
            colors=[COLORS[a] for a in done],
            title=f"hardshapes 1/16 val, {args.iters} it: mean ± std over seeds",
            pil_title="hardshapes 1/16 val IoU: "
            + ", ".join(f"{ARMS[a][0]} ({COLORS[a][4:]})" for a in done),
            labels=[ARMS[a][0] for a in done],
        )
    path = os.path.join(out, "semisup.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {path}" + (f" and {result['chart']}" if result["chart"] else ""))
    if failed:
        print(f"failed runs: {sorted((a, s) for a in failed for s in failed[a])}; see the logs")
        sys.exit(1)


if __name__ == "__main__":
    main()
