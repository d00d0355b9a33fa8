#!/usr/bin/env python
"""HL overhead: training-step time, peak memory and inference time with and without the HL
branch, for DeepLabV3+ and PSPNet at one fixed input size.

    python bench/hl_overhead.py --batch 8 --size 128 128 --iters 10 --json output/bench/hl_overhead.json
    python bench/hl_overhead.py --family cityscapes --batch 2 --size 769 769   # R101 models, GPU

Each (model, variant) is measured in its own process (so the CPU peak RSS of one model does not
leak into the next), with ``bench/model_cost.py``'s batch and timing helpers: median step time over ``--iters`` steps after
``--warmup``, peak memory (CUDA max allocated on GPU, process peak RSS on CPU), median inference
time per image. Prints a table with HL / baseline ratios and writes JSON.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

from tabulate import tabulate

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = {
    "hardshapes": {
        "DeepLabV3+ R18": (
            "configs/hardshapes/deeplabv3plus_R18_os8_bs8_600it.yaml",
            "configs/hardshapes/deeplabv3plus_R18_os8_hl_bs8_600it.yaml",
        ),
        "PSPNet R18": (
            "configs/hardshapes/pspnet_R18_os8_bs8_600it.yaml",
            "configs/hardshapes/pspnet_R18_os8_hl_bs8_600it.yaml",
        ),
    },
    "cityscapes": {
        "DeepLabV3+ R101c": (
            "configs/cityscapes/semantic-segmentation/deeplabv3plus_R101c_os8_769_bs8_40k.yaml",
            "configs/cityscapes/semantic-segmentation/deeplabv3plus_R101c_os8_769_hl_bs8_40k.yaml",
        ),
        "PSPNet R101c": (
            "configs/cityscapes/semantic-segmentation/pspnet_R101c_os8_769_bs8_40k.yaml",
            "configs/cityscapes/semantic-segmentation/pspnet_R101c_os8_769_hl_bs8_40k.yaml",
        ),
    },
    "instant": {  # tiny models, for smoke tests
        "DeepLabV3+ tiny": (
            "configs/quick_schedules/deeplabv3plus_R18_instant_test.yaml",
            "configs/quick_schedules/deeplabv3plus_R18_hl_instant_test.yaml",
        ),
    },
}


def measure_here(config_file, opts, batch, size, iters, warmup):
    """Measure one config in this process (the worker side of :func:`measure`) with
    ``bench/model_cost.py``'s ``measure`` (no FLOP count): parameters, median training-step time,
    peak memory, median inference time per image."""
    sys.path.insert(0, os.path.join(REPO, "bench"))
    from model_cost import measure as measure_cost

    res = measure_cost(config_file, list(opts), batch, tuple(size), iters, warmup, flops=False)
    keys = ["device_name", "threads", "params_M", "train_step_s", "inference_s_per_image"]
    keys += ["peak_memory_MB", "peak_memory_kind"]
    return {"config": os.path.relpath(config_file, REPO), **{k: res[k] for k in keys}}


def measure(config, args):
    """:func:`measure_here` in a fresh process (so peak RSS is per model); returns its result."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cost.json")
        cmd = [
            sys.executable,
            os.path.abspath(__file__),
            "--worker",
            os.path.join(REPO, config),
            "--batch",
            str(args.batch),
            "--size",
            *map(str, args.size),
            "--iters",
            str(args.iters),
            "--warmup",
            str(args.warmup),
            "--json",
            out,
            *args.opts,
        ]
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
        with open(out) as f:
            return json.load(f)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--family", choices=sorted(CONFIGS), default="hardshapes")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, nargs=2, default=(128, 128), metavar=("H", "W"))
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--json", default="output/bench/hl_overhead.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # internal: measure one config
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides")
    args = parser.parse_args()
    if args.worker:
        res = measure_here(
            args.worker, args.opts, args.batch, tuple(args.size), args.iters, args.warmup
        )
        with open(args.json, "w") as f:
            json.dump(res, f)
        return

    rows, results = [], {}
    for model, (baseline, hl) in CONFIGS[args.family].items():
        base, with_hl = measure(baseline, args), measure(hl, args)
        ratios = {
            "train_step": with_hl["train_step_s"] / base["train_step_s"],
            "peak_memory": with_hl["peak_memory_MB"] / base["peak_memory_MB"],
            "inference": with_hl["inference_s_per_image"] / base["inference_s_per_image"],
            "params": with_hl["params_M"] / base["params_M"],
        }
        results[model] = {"baseline": base, "hl": with_hl, "hl_over_baseline": ratios}
        for name, r in (("baseline", base), ("HL", with_hl)):
            rows.append(
                [
                    model,
                    name,
                    r["params_M"],
                    r["train_step_s"],
                    r["peak_memory_MB"],
                    r["inference_s_per_image"] * 1000,
                ]
            )
        rows.append(
            [
                model,
                "HL / baseline",
                ratios["params"],
                ratios["train_step"],
                ratios["peak_memory"],
                ratios["inference"],
            ]
        )
    any_result = next(iter(results.values()))["baseline"]
    header = (
        f"batch {args.batch}, {args.size[0]}x{args.size[1]}, device {any_result['device_name']}, "
        f"{any_result['threads']} threads, peak memory = {any_result['peak_memory_kind']}"
    )
    print(header)
    table = tabulate(
        rows,
        headers=[
            "model",
            "variant",
            "params (M)",
            "train step (s)",
            "peak mem (MB)",
            "infer (ms/img)",
        ],
        floatfmt=".3f",
    )
    print(table)
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(
            {
                "family": args.family,
                "batch": args.batch,
                "size": list(args.size),
                "iters": args.iters,
                "warmup": args.warmup,
                "header": header,
                "table": table,
                "results": results,
            },
            f,
            indent=2,
        )
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
