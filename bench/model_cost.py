#!/usr/bin/env python
"""Cost of a HardSeg model from its YAML config: parameters and FLOPs (fvcore), training-step and
inference time, and peak memory (CUDA allocator on GPU, process peak RSS on CPU).

    python bench/model_cost.py --config-file configs/hardshapes/deeplabv3plus_R18_os8_bs8_600it.yaml \
        --batch 8 --size 128 128 --iters 20 --json output/bench/model_cost.json

Prints a table and writes JSON. Timings are medians over ``--iters`` steps after ``--warmup``;
``--iters 0`` skips them (parameters and FLOPs only, e.g. full-size models at 512x1024 on CPU);
``--no-flops`` skips the FLOP count. The comparison scripts (``hl_overhead.py``,
``cac_overhead.py``) run each config through :func:`measure_in_subprocess`.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from math import prod

import torch
from fvcore.nn import FlopCountAnalysis, parameter_count
from fvcore.nn.jit_handles import get_shape
from tabulate import tabulate

from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
import hardseg  # noqa: F401,E402  (registers HardSeg's models)
from hardseg.engine import setup_cfg  # noqa: E402
from hardseg.utils.synthetic import random_batch  # noqa: E402


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median_time(fn, iters, warmup, device):
    """Median wall time of ``fn`` over ``iters`` calls after ``warmup``; None for ``iters`` 0."""
    if iters == 0:
        return None
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def sdpa_flop_jit(inputs, outputs):
    """fvcore handle of ``aten::scaled_dot_product_attention`` (MiT's attention), which fvcore
    does not count: q k^T and attn v, one multiply-add per flop as fvcore counts matmuls:
    2 * N * heads * L_q * L_k * d."""
    q, k = get_shape(inputs[0]), get_shape(inputs[1])
    return 2 * prod(q[:-1]) * k[-2] * q[-1]


def count_flops(model, inputs):
    """fvcore FlopCountAnalysis of ``model(*inputs)`` with :func:`sdpa_flop_jit`, warnings off."""
    counter = FlopCountAnalysis(model, inputs)
    counter.set_op_handle("aten::scaled_dot_product_attention", sdpa_flop_jit)
    return counter.unsupported_ops_warnings(False).uncalled_modules_warnings(False)


def measure(config_file, opts=(), batch=2, size=(128, 128), iters=10, warmup=2, flops=True):
    """Build the config's model and measure it in this process: parameters, fvcore GFLOPs per
    image (``flops``; None without), median training-step and inference times, peak memory."""
    cfg = setup_cfg(config_file, opts)
    device = torch.device(cfg.MODEL.DEVICE)
    model = build_model(cfg)
    k = cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES
    data = [
        {key: v.to(device) if torch.is_tensor(v) else v for key, v in d.items()}
        for d in random_batch(batch, *size, num_classes=k, ignored_rows=0)
    ]
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def train_step():
        with EventStorage():
            loss = sum(model(data).values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    model.train()
    step = _median_time(train_step, iters, warmup, device)
    model.eval()
    with torch.no_grad():
        infer = _median_time(lambda: model([{"image": data[0]["image"]}]), iters, warmup, device)
        gflops = None
        if flops:
            gflops = count_flops(model, ([{"image": data[0]["image"]}],)).total() / 1e9
    if device.type == "cuda":
        peak_mb = torch.cuda.max_memory_allocated(device) / 2**20
        peak_kind = "CUDA max allocated"
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        peak_kind = "process peak RSS"
    return {
        "config": os.path.relpath(config_file),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        "batch": batch,
        "size": list(size),
        "params_M": parameter_count(model)[""] / 1e6,
        "gflops_per_image": gflops,
        "train_step_s": step,
        "inference_s_per_image": infer,
        "peak_memory_MB": peak_mb,
        "peak_memory_kind": peak_kind,
    }


def measure_in_subprocess(
    config_file, opts=(), batch=2, size=(128, 128), iters=10, warmup=2, flops=True
):
    """:func:`measure` in a fresh Python process (this file's command line, run from the
    repository root), so that the CPU peak RSS of one model does not leak into the next; same
    arguments and result. Raises RuntimeError with the process's stderr when it fails."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cost.json")
        cmd = [sys.executable, os.path.abspath(__file__), "--config-file", config_file]
        cmd += ["--batch", str(batch), "--size", *map(str, size)]
        cmd += ["--iters", str(iters), "--warmup", str(warmup), "--json", out]
        cmd += [] if flops else ["--no-flops"]
        proc = subprocess.run(cmd + list(opts), cwd=REPO, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
        with open(out) as f:
            return json.load(f)


def add_measure_args(parser, batch: int = 2) -> None:
    """The options of :func:`measure` that every cost script takes: ``--batch``, ``--size``,
    ``--iters``, ``--warmup`` and the trailing KEY VALUE config overrides ``opts``."""
    parser.add_argument("--batch", type=int, default=batch)
    parser.add_argument("--size", type=int, nargs=2, default=(128, 128), metavar=("H", "W"))
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config-file", required=True)
    parser.add_argument("--json", default="output/bench/model_cost.json")
    parser.add_argument("--no-flops", action="store_true", help="skip the fvcore FLOP count")
    add_measure_args(parser)
    args = parser.parse_args()
    res = measure(
        args.config_file,
        args.opts,
        args.batch,
        tuple(args.size),
        args.iters,
        args.warmup,
        flops=not args.no_flops,
    )
    print(tabulate([(k, v) for k, v in res.items()], headers=["quantity", "value"], floatfmt=".4g"))
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(res, f, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
