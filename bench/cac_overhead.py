#!/usr/bin/env python
"""CAC overhead: parameters, fvcore inference FLOPs per image, training-step time, peak memory and
inference time with and without CAC (docs/methods/cac.md §6), for FCN on HRNetV2.

    python bench/cac_overhead.py --iters 10 --json output/bench/cac_overhead.json
    python bench/cac_overhead.py --family cityscapes --batch 2 --size 512 1024   # FCN-HR48, GPU

Each (model, variant) runs in its own process through ``bench/model_cost.py``'s
``measure_in_subprocess`` (median
step time over ``--iters`` after ``--warmup``; FLOPs of the eval graph, which for CAC is the
wrapped head's only, so the FLOP and inference ratios should be 1.00). Prints a table with the
CAC / baseline ratios and writes JSON.
"""

import argparse
import json
import os

from tabulate import tabulate

from model_cost import add_measure_args, measure_in_subprocess

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = {
    "hardshapes": {
        "FCN-HR18": (
            "configs/hardshapes/fcn_hr18_bs8_600it.yaml",
            "configs/hardshapes/fcn_hr18_cac_bs8_600it.yaml",
        ),
    },
    "cityscapes": {
        "FCN-HR48": (
            "configs/cityscapes/semantic-segmentation/fcn_hr48_512x1024_bs8_40k.yaml",
            "configs/cityscapes/semantic-segmentation/fcn_hr48_512x1024_cac_bs8_40k.yaml",
        ),
    },
}
KEYS = ["params_M", "gflops_per_image", "train_step_s", "peak_memory_MB", "inference_s_per_image"]


def measure(config, args):
    """``model_cost.measure`` of ``config`` (relative to the repository) in a fresh process."""
    size = tuple(args.size)
    return measure_in_subprocess(
        os.path.join(REPO, config), args.opts, args.batch, size, args.iters, args.warmup
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--family", choices=sorted(CONFIGS), default="hardshapes")
    parser.add_argument("--json", default="output/bench/cac_overhead.json")
    add_measure_args(parser, batch=8)
    args = parser.parse_args()

    rows, results = [], {}
    for model, (baseline, cac) in CONFIGS[args.family].items():
        base, with_cac = measure(baseline, args), measure(cac, args)
        ratios = {k: with_cac[k] / base[k] for k in KEYS}
        results[model] = {"baseline": base, "cac": with_cac, "cac_over_baseline": ratios}
        for name, r in (("baseline", base), ("CAC", with_cac), ("CAC / baseline", ratios)):
            rows.append([model, name] + [r[k] for k in KEYS])
    first = next(iter(results.values()))["baseline"]
    header = (
        f"batch {args.batch}, {args.size[0]}x{args.size[1]}, device {first['device_name']}, "
        f"{first['threads']} threads, peak memory = {first['peak_memory_kind']}"
    )
    table = tabulate(
        rows,
        headers=["model", "variant", "params (M)", "GFLOPs/img (eval)", "train step (s)",
                 "peak mem (MB)", "infer (s/img)"],
        floatfmt=".3f",
    )  # fmt: skip
    print(header)
    print(table)
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump({"family": args.family, "batch": args.batch, "size": list(args.size),
                   "iters": args.iters, "warmup": args.warmup, "header": header, "table": table,
                   "results": results}, f, indent=2)  # fmt: skip
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
