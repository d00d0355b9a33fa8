#!/usr/bin/env python
"""Cost of the HL branch, ``copy`` (official) vs ``light`` (MODEL.HARDNESS.BRANCH), on the R101
Cityscapes models: fvcore FLOPs of the training forward pass (backbone + decode head + HL branch,
losses excluded) and the CPU training-step time, as ratios to the plain model.

    python bench/hl_branch_cost.py --flop-size 769 769 --step-size 769 769 --iters 5 \
        --json bench/results/hl_branch_cost_cpu.json

FLOPs: one image, counted part by part on the same backbone features (the backbone and decode
head once, then each branch's ``layers``), so ``ratio = (base + branch) / base``. Step time:
batch ``--batch``, SGD step, the three variants (plain, copy, light) interleaved ``--iters`` times
after one warm-up step each, one thread; medians. ``--step-size 0 0`` skips the timing,
``--no-flops`` the FLOPs. The R101 configs pad every training image to their 769x769 crop
(``INPUT.CROP.PAD_TO_SIZE``), so a smaller ``--step-size`` still runs 769x769 convolutions (with
ignored labels in the padding); the JSON records the size the model trained at as
``step_trained_size``.
"""

import argparse
import json
import os
import statistics
import sys
import time

import torch
from tabulate import tabulate

from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from hardseg.engine import setup_cfg  # noqa: E402
from hardseg.modeling.meta_arch.hard_segmentor import pad_to_size_from_config  # noqa: E402
from hardseg.utils.synthetic import random_batch  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CS = "configs/cityscapes/semantic-segmentation/"
MODELS = {
    "PSPNet R101c": CS + "pspnet_R101c_os8_769_hl_bs8_40k.yaml",
    "DeepLabV3+ R101c": CS + "deeplabv3plus_R101c_os8_769_hl_bs8_40k.yaml",
    "DeepLabV3+ tiny": "configs/quick_schedules/deeplabv3plus_R18_hl_instant_test.yaml",
}
CPU = ("MODEL.DEVICE", "cpu", "MODEL.SEM_SEG_HEAD.NORM", "BN", "MODEL.RESNETS.NORM", "BN")


def _cfg(path, *opts):
    return setup_cfg(os.path.join(REPO, path), [*CPU, *opts])


def _variants(path):
    """name -> config of the plain model, the HL copy and the HL light branch."""
    plain_head = _cfg(path).MODEL.HARDNESS.HEAD_NAME
    return {
        "plain": _cfg(path, "MODEL.SEM_SEG_HEAD.NAME", plain_head),
        "copy": _cfg(path, "MODEL.HARDNESS.BRANCH", "copy"),
        "light": _cfg(path, "MODEL.HARDNESS.BRANCH", "light"),
    }


class _Parts(torch.nn.Module):
    """``fn(model, *inputs)`` as a module that owns ``model`` (so fvcore sees its parameters)."""

    def __init__(self, model, fn):
        super().__init__()
        self.model = model
        self.fn = fn

    def forward(self, *inputs):
        return self.fn(self.model, *inputs)


def _gflops(model, fn, *inputs):
    from fvcore.nn import FlopCountAnalysis

    c = FlopCountAnalysis(_Parts(model, fn), inputs)
    return c.unsupported_ops_warnings(False).uncalled_modules_warnings(False).total() / 1e9


def flops(path, size):
    """GFLOPs (one image, training forward, no loss) of base, copy branch and light branch."""
    torch.manual_seed(0)
    cfgs = _variants(path)
    copy_model, light_model = build_model(cfgs["copy"]), build_model(cfgs["light"])
    for m in (copy_model, light_model):
        m.eval()  # same convolutions; PSPNet's 1x1 pooled BN refuses one image in train mode
    x = torch.randn(1, 3, *size)
    with torch.no_grad():
        base = _gflops(copy_model, lambda m, t: m.sem_seg_head.seg.layers(m.backbone(t)), x)
        base_bb = _gflops(copy_model, lambda m, t: list(m.backbone(t).values()), x)
        feats = copy_model.backbone(x)
        names = list(feats)

        def branch(m, *xs):
            return m.sem_seg_head.hl.layers(dict(zip(names, xs)))

        copy_g = _gflops(copy_model, branch, *feats.values())
        light_g = _gflops(light_model, branch, *feats.values())
    params = {
        n: sum(p.numel() for p in m.sem_seg_head.hl.parameters()) / 1e6
        for n, m in (("copy", copy_model), ("light", light_model))
    }
    return {
        "backbone_gflops": base_bb,
        "base_gflops": base,
        "copy_branch_gflops": copy_g,
        "light_branch_gflops": light_g,
        "copy_ratio": (base + copy_g) / base,
        "light_ratio": (base + light_g) / base,
        "copy_branch_params_M": params["copy"],
        "light_branch_params_M": params["light"],
    }


def trained_size(path, size):
    """(H, W) of the images the model trains on when fed ``size`` images: the config's crop when it
    pads every training image to it, else ``size``."""
    padded = pad_to_size_from_config(_cfg(path))
    return list(padded) if padded is not None else list(size)


def step_times(path, size, batch, iters):
    """Median seconds per training step of plain, copy and light, interleaved."""
    models, opts = {}, {}
    for name, cfg in _variants(path).items():
        torch.manual_seed(0)
        models[name] = build_model(cfg).train()
        opts[name] = torch.optim.SGD(models[name].parameters(), lr=1e-4, momentum=0.9)
    k = cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES
    data = random_batch(batch, *size, num_classes=k, ignored_rows=0)

    def step(name):
        with EventStorage():
            loss = sum(models[name](data).values())
        opts[name].zero_grad()
        loss.backward()
        opts[name].step()

    times = {n: [] for n in models}
    for n in models:  # warm-up
        step(n)
    for _ in range(iters):
        for n in models:
            t0 = time.perf_counter()
            step(n)
            times[n].append(time.perf_counter() - t0)
    med = {n: statistics.median(v) for n, v in times.items()}
    return {
        "step_s": med,
        "copy_ratio": med["copy"] / med["plain"],
        "light_ratio": med["light"] / med["plain"],
        "raw_s": times,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=["PSPNet R101c", "DeepLabV3+ R101c"])
    ap.add_argument("--flop-size", type=int, nargs=2, default=(769, 769))
    ap.add_argument("--step-size", type=int, nargs=2, default=(769, 769))
    ap.add_argument("--batch", type=int, default=2)  # PSPNet's 1x1 pooled BN needs 2
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--no-flops", action="store_true", help="step times only")
    ap.add_argument("--json", default="")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    results = {}
    for name in args.models:
        r = {"config": MODELS[name], "flop_size": list(args.flop_size)}
        r["flops"] = None if args.no_flops else flops(MODELS[name], args.flop_size)
        if args.step_size[0] > 0:
            r["step"] = step_times(MODELS[name], args.step_size, args.batch, args.iters)
            r["step_size"], r["batch"] = list(args.step_size), args.batch
            r["step_trained_size"] = trained_size(MODELS[name], args.step_size)
        results[name] = r
        print(f"{name}: {json.dumps(r)}", flush=True)
    rows = []
    for name, r in results.items():
        f, s = r["flops"] or {}, r.get("step")
        for branch in ("copy", "light"):
            if not f:
                rows.append([name, branch, None, None, None, s[branch + "_ratio"] if s else None])
                continue
            rows.append(
                [
                    name,
                    branch,
                    f"{f['base_gflops']:.0f} -> {f['base_gflops'] + f[branch + '_branch_gflops']:.0f}",
                    f[branch + "_ratio"],
                    f[branch + "_branch_params_M"],
                    s[branch + "_ratio"] if s else None,
                ]
            )
    trained = {"x".join(map(str, r["step_trained_size"])) for r in results.values() if "step" in r}
    print(
        f"HL branch cost: FLOPs at {args.flop_size[0]}x{args.flop_size[1]} (training forward), "
        f"CPU step on {args.step_size[0]}x{args.step_size[1]} images (trained at "
        f"{', '.join(sorted(trained))}), batch {args.batch}, 1 thread"
    )
    print(
        tabulate(
            rows,
            ["model", "branch", "GFLOPs", "FLOP ratio", "branch params M", "CPU step ratio"],
            floatfmt=".3f",
        )
    )
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump({"threads": 1, "results": results}, fh, indent=1)


if __name__ == "__main__":
    main()
