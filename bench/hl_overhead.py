#!/usr/bin/env python
"""HL overhead: training-step time, peak memory and inference time with and without the HL
branch, for DeepLabV3+ and PSPNet at one fixed input size.

    python bench/hl_overhead.py --batch 8 --size 128 128 --iters 10 --json output/bench/hl_overhead.json
    python bench/hl_overhead.py --family cityscapes --batch 2 --size 769 769   # R101 models, GPU

Each (model, variant) is measured in its own process (so the CPU peak RSS of one model does not
leak into the next) by ``bench/model_cost.py``'s ``measure_in_subprocess`` (no FLOP count):
median step time over ``--iters`` steps after ``--warmup``, peak memory (CUDA max allocated on
GPU, process peak RSS on CPU), median inference time per image. Prints a table with HL / baseline
ratios and writes JSON.
"""

import argparse
import json
import os

from tabulate import tabulate

from model_cost import add_measure_args, measure_in_subprocess

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


KEYS = ["config", "device_name", "threads", "params_M", "train_step_s", "inference_s_per_image"]
KEYS += ["peak_memory_MB", "peak_memory_kind"]


def measure(config, args):
    """Parameters, median training-step time, peak memory and median inference time per image
    of ``config`` (relative to the repository), measured in a fresh process."""
    res = measure_in_subprocess(
        os.path.join(REPO, config),
        args.opts,
        args.batch,
        tuple(args.size),
        args.iters,
        args.warmup,
        flops=False,
    )
    return {k: res[k] for k in KEYS}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--family", choices=sorted(CONFIGS), default="hardshapes")
    parser.add_argument("--json", default="output/bench/hl_overhead.json")
    add_measure_args(parser, batch=8)
    args = parser.parse_args()

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
