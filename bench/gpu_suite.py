#!/usr/bin/env python
"""GPU bench suite (CUDA only; refuses to run on a CPU machine).

    python bench/gpu_suite.py --json bench/results/gpu_suite_<device>.json

On one GPU, for each row: median training-step time over ``--iters`` steps after ``--warmup``,
samples/s, peak CUDA memory and model FLOP utilisation

    MFU = 3 x 2 x fvcore MACs per image x batch / step time / the GPU's peak FLOP/s

(fvcore counts one multiply-add as one "flop", hence the 2; x3 = forward + backward; the peak is
the dense bf16 tensor-core figure for bf16/fp16 rows and the fp32 one for fp32 rows, from
``--peak-tflops`` or the table ``PEAK_TFLOPS`` by device name). Rows:

* DeepLabV3+ R101c 769x769 batch 8: fp32, bf16, bf16 + channels_last;
* the same in bf16 with HL (``copy`` and ``light`` branch), U2PL (R101 DeepLabV3+, 769, labeled +
  unlabeled batch) and Mask2Former R50 (512x1024), each as a ratio to its plain model's step;
* the evaluator on GPU vs detectron2's SemSegEvaluator (bench/eval_throughput.py, on the GPU).

Prints a table with the device name and writes JSON. Goal: >= 35 % MFU for DeepLabV3+ R101c bf16.
``--budget-s`` stops adding rows once the elapsed time passes it (default 420 s, under 8 min).
"""

import argparse
import json
import os
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CS = "configs/cityscapes/semantic-segmentation/"
SEMI = "configs/cityscapes/semi-supervised/"
DLV3P = CS + "deeplabv3plus_R101c_os8_769_bs8_40k.yaml"
# (row name, config, size, batch, dtype, channels_last, extra opts, name of the row it is relative to)
ROWS = [
    ("DeepLabV3+ R101c fp32", DLV3P, (769, 769), 8, "float32", False, (), None),
    ("DeepLabV3+ R101c bf16", DLV3P, (769, 769), 8, "bfloat16", False, (), None),
    ("DeepLabV3+ R101c bf16 + channels_last", DLV3P, (769, 769), 8, "bfloat16", True, (), None),
    (
        "DeepLabV3+ R101c HL copy bf16",
        CS + "deeplabv3plus_R101c_os8_769_hl_bs8_40k.yaml",
        (769, 769), 8, "bfloat16", True, ("MODEL.HARDNESS.BRANCH", "copy"),
        "DeepLabV3+ R101c bf16 + channels_last",
    ),
    (
        "DeepLabV3+ R101c HL light bf16",
        CS + "deeplabv3plus_R101c_os8_769_hl_bs8_40k.yaml",
        (769, 769), 8, "bfloat16", True, ("MODEL.HARDNESS.BRANCH", "light"),
        "DeepLabV3+ R101c bf16 + channels_last",
    ),
    (
        "SupOnly R103 bf16",
        SEMI + "suponly_deeplabv3plus_R103_os8_mg124_769_bs16_35k_1-16.yaml",
        (769, 769), 8, "bfloat16", True, (), None,
    ),
    (
        "U2PL R103 bf16",
        SEMI + "u2pl_deeplabv3plus_R103_os8_mg124_769_bs16_33k_1-8.yaml",
        (769, 769), 8, "bfloat16", True, (), "SupOnly R103 bf16",
    ),
    ("Mask2Former R50 bf16", CS + "maskformer2_R50_bs16_90k.yaml", (512, 1024), 8, "bfloat16",
     True, (), None),
    (
        "Mask2Former R50 HL bf16",
        CS + "maskformer2_R50_hl_bs16_90k.yaml",
        (512, 1024), 8, "bfloat16", True, (), "Mask2Former R50 bf16",
    ),
]  # fmt: skip

# dense peak TFLOP/s (bf16 tensor cores, fp32 without TF32) by a substring of the device name
PEAK_TFLOPS = {
    "H200": {"bfloat16": 989.0, "float32": 67.0},
    "H100": {"bfloat16": 989.0, "float32": 67.0},
    "A100": {"bfloat16": 312.0, "float32": 19.5},
    "L40S": {"bfloat16": 362.0, "float32": 91.6},
    "A10G": {"bfloat16": 70.0, "float32": 31.2},
}


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--budget-s", type=float, default=420.0)
    ap.add_argument("--rows", nargs="*", default=None, help="row names (default: all)")
    ap.add_argument("--peak-tflops", type=float, nargs=2, default=None, metavar=("BF16", "FP32"))
    ap.add_argument("--skip-evaluator", action="store_true")
    ap.add_argument("--json", default="bench/results/gpu_suite.json")
    args = ap.parse_args(argv)
    known = {r[0] for r in ROWS}
    unknown = [r for r in args.rows or () if r not in known]
    if unknown:
        ap.error(f"unknown rows {unknown}; choose from {sorted(known)}")
    if args.iters < 1 or args.warmup < 0:
        ap.error("--iters must be >= 1 and --warmup >= 0")
    return args


def peak_flops(device_name, dtype, override=None):
    """The GPU's peak FLOP/s for ``dtype`` (None when unknown: MFU is then not reported)."""
    if override is not None:
        return override[0 if dtype != "float32" else 1] * 1e12
    for key, peaks in PEAK_TFLOPS.items():
        if key in device_name:
            return peaks["bfloat16" if dtype != "float32" else "float32"] * 1e12
    return None


def mfu(macs_per_image, batch, step_s, peak):
    """Model FLOP utilisation (see the module docstring); None without a peak or a step time."""
    if not peak or not step_s or macs_per_image is None:
        return None
    return 3 * 2 * macs_per_image * batch / step_s / peak


def format_table(device_name, rows):
    """The printed table: one line per measured row."""
    from tabulate import tabulate

    body = [
        [
            r["name"],
            r.get("step_s"),
            r.get("samples_per_s"),
            None if r.get("mfu") is None else 100 * r["mfu"],
            r.get("peak_mem_GiB"),
            r.get("ratio"),
        ]
        for r in rows
    ]
    head = ["row", "step (s)", "samples/s", "MFU %", "peak mem (GiB)", "x reference"]
    return f"device: {device_name}\n" + tabulate(body, head, floatfmt=".3f", missingval="-")


def _measure(row, args, device_name):
    import torch
    from detectron2.modeling import build_model
    from detectron2.utils.events import EventStorage

    sys.path.insert(0, REPO)
    sys.path.insert(0, os.path.join(REPO, "bench"))
    from hardseg.engine import setup_cfg
    from hardseg.modeling.efficiency import to_channels_last
    from hardseg.utils.synthetic import random_batch
    from model_cost import count_flops

    name, config, size, batch, dtype, channels_last, opts, _ = row
    cfg = setup_cfg(os.path.join(REPO, config), ["MODEL.DEVICE", "cuda", *opts])
    model = build_model(cfg).train()
    if channels_last:
        to_channels_last(model)
    k = cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES
    semi = cfg.MODEL.META_ARCHITECTURE == "U2PL"
    data = random_batch(batch, *size, num_classes=k, ignored_rows=0)
    if semi:
        unl = random_batch(batch, *size, num_classes=k, seed=1, with_labels=False)
        data = {"labeled": data, "unlabeled": unl}
    it = 10**6 if semi else 0  # U2PL: in its semi-supervised phase
    opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    amp = dtype != "float32"

    def step():
        with EventStorage(it), torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            loss = sum(model(data).values())
        opt.zero_grad()
        loss.float().backward()
        opt.step()

    for _ in range(args.warmup):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args.iters):
        t0 = time.perf_counter()
        step()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    step_s = statistics.median(times)
    macs = None
    if not semi:
        model.eval()
        with torch.no_grad():
            x = [{"image": data[0]["image"].cuda()}]
            macs = count_flops(model, (x,)).total()  # inference graph (HL/CAC branches excluded)
    return {
        "name": name,
        "config": config,
        "size": list(size),
        "batch": batch,
        "dtype": dtype,
        "channels_last": channels_last,
        "step_s": step_s,
        "samples_per_s": batch / step_s,
        "fvcore_macs_per_image": macs,
        "mfu": mfu(macs, batch, step_s, peak_flops(device_name, dtype, args.peak_tflops)),
        "peak_mem_GiB": torch.cuda.max_memory_allocated() / 2**30,
        "raw_s": times,
    }


def main(argv=None):
    args = parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        sys.exit(
            "bench/gpu_suite.py measures GPU training and needs CUDA; this machine has none. "
            "Run it on a GPU machine (CPU figures come from bench/model_cost.py, "
            "bench/hl_branch_cost.py and bench/mapper_cost.py)."
        )
    device_name = torch.cuda.get_device_name(0)
    start = time.monotonic()
    results = []
    for row in ROWS:
        if args.rows and row[0] not in args.rows:
            continue
        if time.monotonic() - start > args.budget_s:
            print(f"budget reached; skipping {row[0]}", flush=True)
            continue
        try:
            r = _measure(row, args, device_name)
        except Exception as e:  # one failing row must not lose the others
            r = {"name": row[0], "error": f"{type(e).__name__}: {e}"}
        ref = next((x for x in results if x["name"] == row[7]), None)
        if ref and "step_s" in r and "step_s" in ref:
            r["ratio"] = r["step_s"] / ref["step_s"]
        results.append(r)
        print(json.dumps({k: v for k, v in r.items() if k != "raw_s"}), flush=True)
        torch.cuda.empty_cache()
    out = {"device": device_name, "torch": torch.__version__, "rows": results}
    if not args.skip_evaluator and time.monotonic() - start < args.budget_s:
        sys.path.insert(0, os.path.join(REPO, "bench"))
        from eval_throughput import measure

        out["evaluator"] = measure(images=8, repeats=3, device="cuda")
    print(format_table(device_name, [r for r in results if "error" not in r]))
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
