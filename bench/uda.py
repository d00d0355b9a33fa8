#!/usr/bin/env python
"""HIAST on hardshapes -> hardshapes_shifted: mIoU on the target's val split after each stage
(source only, AdaptSegNet warm-up, rounds 1-3), several seeds.

    OMP_NUM_THREADS=1 python bench/uda.py --iters 100 --seeds 0 1 2 --out output/bench/uda

Each seed is one ``tools/run_self_training.py`` chain with the tiny hardshapes configs
(``configs/hardshapes/uda/``), ``SEED s`` and ``SOLVER.MAX_ITER --iters`` for every stage (the
labelling order seed is ``s`` too); each stage's training run evaluates on
``hardshapes_shifted_sem_seg_val`` at its end (a round with its EMA teacher). Writes
``uda.json`` (every stage's mIoU per seed, mean and std) and ``uda.png`` under ``--out`` and
prints a table. A failed chain is reported and the script exits 1.
"""

import argparse
import json
import os
import statistics
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _runs  # noqa: E402

CONFIGS = "configs/hardshapes/uda"
DATASET = "hardshapes_shifted_sem_seg_val"
STAGES = [
    ("stage0", "stage0", "source only"),
    ("stage1", "stage1", "warm-up"),
    ("round1", "round1/train", "round 1"),
    ("round2", "round2/train", "round 2"),
    ("round3", "round3/train", "round 3"),
]


def run_chain(seed, iters, out, opts):
    cmd = [
        sys.executable,
        os.path.join(REPO, "tools/run_self_training.py"),
        "--output-dir", out,
        "--source-config", f"{CONFIGS}/deeplabv2_R18_source_only_tiny.yaml",
        "--warmup-config", f"{CONFIGS}/adaptsegnet_deeplabv2_R18_warmup_tiny.yaml",
        "--round-config", f"{CONFIGS}/hiast_deeplabv2_R18_round_tiny.yaml",
        "--seed", str(seed),
        "SEED", str(seed),
        "SOLVER.MAX_ITER", str(iters),
        "SOLVER.CHECKPOINT_PERIOD", str(iters),
        *opts,
    ]  # fmt: skip
    _runs.launch(cmd, out + ".log")
    miou = {}
    for key, sub, _ in STAGES:
        with open(os.path.join(out, sub, "inference", DATASET, "sem_seg_metrics.json")) as f:
            miou[key] = json.load(f)["sem_seg"]["mIoU"]
    return miou


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iters", type=int, default=100)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default="output/bench/uda")
    parser.add_argument("opts", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    runs, failed = {}, []
    for s in args.seeds:
        try:
            runs[s] = run_chain(s, args.iters, os.path.join(args.out, f"seed{s}"), args.opts)
        except RuntimeError as e:
            print(e)
            failed.append(s)
    summary = {}
    for key, _, label in STAGES:
        values = [runs[s][key] for s in runs]
        if values:
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            summary[key] = {"label": label, "mean": statistics.mean(values), "std": std}
    result = {"iters_per_stage": args.iters, "seeds": args.seeds, "runs": runs}
    result.update(summary=summary, failed=failed)
    with open(os.path.join(args.out, "uda.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(f"{'stage':<12} {'mIoU mean':>10} {'std':>6}  per seed")
    for key, row in summary.items():
        seeds = " ".join(f"{runs[s][key]:.2f}" for s in runs)
        print(f"{row['label']:<12} {row['mean']:>10.2f} {row['std']:>6.2f}  {seeds}")
    if summary:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 3.5))
        labels = [r["label"] for r in summary.values()]
        ax.bar(labels, [r["mean"] for r in summary.values()],
               yerr=[r["std"] for r in summary.values()], capsize=4, color="tab:blue")  # fmt: skip
        ax.set_ylabel(f"mIoU on {DATASET} (%)")
        ax.set_title(f"HIAST chain, {args.iters} iterations per stage, seeds {args.seeds}")
        fig.tight_layout()
        fig.savefig(os.path.join(args.out, "uda.png"), dpi=100)
    print(f"wrote {os.path.join(args.out, 'uda.json')}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
