#!/usr/bin/env python
"""Evaluator throughput: HardSeg's sem_seg evaluator vs detectron2's SemSegEvaluator on the same
K-class predictions (Cityscapes-like: 19 classes, 1024x2048, blocky labels with ignore pixels).

    python bench/eval_throughput.py --images 8 --size 1024 2048 --repeats 3 \
        --json output/bench/eval_throughput.json

Both evaluators read the same GT PNGs and get the same (K, H, W) logits; the timed part is
``reset`` + ``process`` of every image + ``evaluate``. Rows:

* ``detectron2 SemSegEvaluator``: v0.6 (numpy bincount on the CPU; its ``process`` always
  RLE-encodes every class mask for its JSON, even without an output directory);
* ``HardSeg``: confusion matrix with ``torch.bincount`` on the prediction's device, no JSON;
* ``HardSeg + JSON``: with ``write_predictions`` (``TEST.SAVE_PREDICTIONS_JSON``; off by
  default): RLE per class and ``sem_seg_predictions.json``, as detectron2 writes.

Prints a table (seconds, megapixels per second, speed-up over detectron2) and writes JSON. The
script checks that mIoU, fwIoU, mACC, pACC and every per-class IoU/ACC agree (|diff| < 1e-9)
and exits non-zero otherwise. Timings are medians over ``--repeats`` rounds, interleaved (each
round runs every evaluator once, so a load change on a shared machine hits all of them).
"""

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import torch
from PIL import Image
from tabulate import tabulate

from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.evaluation import SemSegEvaluator

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from hardseg.evaluation import HardSegSemSegEvaluator  # noqa: E402

DATASET = "bench_eval_throughput"


def make_data(root, n_images, size, num_classes, n_distinct, device, seed=0):
    """Write ``n_images`` GT PNGs (blocky labels, 255 in a bottom band) and build ``n_distinct``
    logit tensors (argmax = GT with 30 % of the blocks changed) cycled over the images."""
    rng = np.random.default_rng(seed)
    h, w = size
    block = max(1, min(h, w) // 32)
    dicts, logits = [], []
    for i in range(n_images):
        low = rng.integers(0, num_classes, size=(math.ceil(h / block), math.ceil(w / block)))
        gt = low.repeat(block, 0).repeat(block, 1)[:h, :w].astype(np.uint8)
        gt[int(0.85 * h) :] = 255
        path = os.path.join(root, f"{i:05d}_gt.png")
        Image.fromarray(gt, mode="L").save(path)
        dicts.append({"file_name": f"{i:05d}.png", "sem_seg_file_name": path})
        if i < n_distinct:
            pred_low = np.where(
                rng.random(low.shape) < 0.3, rng.integers(0, num_classes, low.shape), low
            )
            pred = pred_low.repeat(block, 0).repeat(block, 1)[:h, :w]
            g = torch.Generator().manual_seed(seed + i)
            x = torch.rand((num_classes, h, w), generator=g)
            x.scatter_(0, torch.from_numpy(pred).long()[None], 2.0)
            logits.append(x.to(device))
    return dicts, logits


def run(evaluator, dicts, logits, device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    evaluator.reset()
    for i, d in enumerate(dicts):
        evaluator.process([d], [{"sem_seg": logits[i % len(logits)]}])
    res = evaluator.evaluate()["sem_seg"]
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start, res


def compare(a, b):
    """Largest |a[k] - b[k]| over the shared keys (NaN == NaN), and the keys compared."""
    worst = 0.0
    keys = sorted(set(a) & set(b))
    for k in keys:
        x, y = a[k], b[k]
        if math.isnan(x) and math.isnan(y):
            continue
        if math.isnan(x) or math.isnan(y):
            return float("inf"), keys
        worst = max(worst, abs(x - y))
    return worst, keys


def measure(images=8, size=(1024, 2048), num_classes=19, repeats=3, distinct=2, device="cpu"):
    device = torch.device(device)
    with tempfile.TemporaryDirectory() as root:
        dicts, logits = make_data(root, images, size, num_classes, distinct, device)
        if DATASET in DatasetCatalog.list():
            DatasetCatalog.remove(DATASET)
            MetadataCatalog.remove(DATASET)
        DatasetCatalog.register(DATASET, lambda: dicts)
        MetadataCatalog.get(DATASET).set(
            stuff_classes=[f"class{i}" for i in range(num_classes)],
            ignore_label=255,
            evaluator_type="sem_seg",
        )
        out_dir = os.path.join(root, "out")
        evaluators = {
            "detectron2 SemSegEvaluator": lambda: SemSegEvaluator(DATASET, distributed=False),
            "HardSeg": lambda: HardSegSemSegEvaluator(DATASET, distributed=False),
            "HardSeg + JSON": lambda: HardSegSemSegEvaluator(
                DATASET, distributed=False, output_dir=out_dir, write_predictions=True
            ),
        }
        for make in evaluators.values():
            run(make(), dicts[:1], logits, device)  # warm-up (imports, allocator)
        raw, results = {name: [] for name in evaluators}, {}
        for _ in range(repeats):  # interleaved: every evaluator once per round
            for name, make in evaluators.items():
                t, results[name] = run(make(), dicts, logits, device)
                raw[name].append(t)
        times = {name: statistics.median(ts) for name, ts in raw.items()}
    ref = "detectron2 SemSegEvaluator"
    pixels = images * size[0] * size[1]
    rows = []
    for name, t in times.items():
        diff, keys = compare(results[name], results[ref])
        rows.append(
            {
                "evaluator": name,
                "seconds": t,
                "Mpixels_per_s": pixels / t / 1e6,
                "speedup_vs_detectron2": times[ref] / t,
                "max_abs_diff_vs_detectron2": diff,
                "keys_compared": len(keys),
            }
        )
    return {
        "images": images,
        "size": list(size),
        "num_classes": num_classes,
        "repeats": repeats,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        "rows": rows,
        "raw_seconds": raw,
        "interleaved": True,
        "ratio": times[ref] / times["HardSeg"],
        "metrics_agree": all(r["max_abs_diff_vs_detectron2"] < 1e-9 for r in rows),
        "mIoU": results["HardSeg"]["mIoU"],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--size", type=int, nargs=2, default=(1024, 2048), metavar=("H", "W"))
    parser.add_argument("--num-classes", type=int, default=19)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--distinct", type=int, default=2, help="distinct logit tensors in memory")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", default="output/bench/eval_throughput.json")
    args = parser.parse_args()
    res = measure(
        args.images,
        tuple(args.size),
        args.num_classes,
        args.repeats,
        args.distinct,
        args.device,
    )
    table = [
        (
            r["evaluator"],
            r["seconds"],
            r["Mpixels_per_s"],
            r["speedup_vs_detectron2"],
            r["max_abs_diff_vs_detectron2"],
        )
        for r in res["rows"]
    ]
    print(
        f"{res['images']} images of {res['size'][0]}x{res['size'][1]}, {res['num_classes']} "
        f"classes, device {res['device_name']}, {res['threads']} threads, median of "
        f"{res['repeats']}"
    )
    print(
        tabulate(
            table,
            headers=["evaluator", "s", "Mpix/s", "speed-up", "max |diff|"],
            floatfmt=(".4g", ".3f", ".1f", ".2f", ".1e"),
        )
    )
    print(f"ratio (HardSeg / detectron2 pixels per second): {res['ratio']:.2f}")
    print(f"metrics agree: {res['metrics_agree']}")
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(res, f, indent=2)
    print(f"wrote {args.json}")
    if not res["metrics_agree"]:
        sys.exit("the evaluators disagree")


if __name__ == "__main__":
    main()
