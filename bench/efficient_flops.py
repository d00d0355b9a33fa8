#!/usr/bin/env python
"""Parameters and fvcore GFLOPs of the efficient / transformer models at the resolutions of the
team guide's table (one image, inference, CPU, one thread), as JSON and a Markdown table.

    OMP_NUM_THREADS=1 python bench/efficient_flops.py --json output/bench/efficient_flops.json

fvcore counts one multiply-add as one flop (so do the SegNeXt and SegFormer papers); attention
(``scaled_dot_product_attention``) is counted by ``model_cost.sdpa_flop_jit``. Other elementwise
ops (softmax, GELU, normalisation, interpolation) are not counted.
"""

import argparse
import json
import os
import sys

import torch

from detectron2.modeling import build_model

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import hardseg  # noqa: F401,E402
from hardseg.engine import setup_cfg  # noqa: E402
from model_cost import count_flops  # noqa: E402

CITY = "configs/cityscapes/semantic-segmentation/"
ADE = "configs/ade20k/semantic-segmentation/"
# (name, config, (H, W), the guide's GFLOPs or None)
MODELS = (
    [(f"SegFormer-B{i}", f"{CITY}segformer_B{i}_1024_bs8_160k.yaml", (1024, 1024), None)
     for i in range(6)]
    + [(f"SegNeXt-{v}", f"{CITY}segnext_{v}_1024_bs8_160k.yaml", (1024, 2048), g)
       for v, g in zip("TSBL", (56, 125, 276, 578))]
    + [(f"SegNeXt-{v} (ADE20K)", f"{ADE}segnext_{v}_512_bs16_160k.yaml", (512, 512), g)
       for v, g in zip("TSBL", (7, 16, 35, 70))]
    + [(f"STDC{v}", f"{CITY}stdc{v}_512x1024_bs16_80k.yaml", (512, 1024), None) for v in "12"]
    + [("RegSeg exp48_decoder26", f"{CITY}regseg_exp48_768_bs8_372k.yaml", (512, 1024), None)]
    + [(f"TopFormer-{v}", f"{CITY}topformer_{v}_512x1024_bs16_80k.yaml", (512, 1024), None)
       for v in "TSB"]
    + [(f"SFNet R{d}", f"{CITY}sfnet_R{d}_512x1024_bs16_90k.yaml", (512, 1024), None)
       for d in (18, 50)]
)  # fmt: skip


def measure(config, size):
    cfg = setup_cfg(config, ["MODEL.DEVICE", "cpu", "TEST.MODE", "whole"])
    model = build_model(cfg).eval()
    params = sum(p.numel() for p in model.parameters())
    image = torch.randint(0, 256, (3, *size), dtype=torch.uint8)
    with torch.no_grad():
        flops = count_flops(model, ([{"image": image}],)).total()
    return params / 1e6, flops / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", default="output/bench/efficient_flops.json")
    parser.add_argument("--only", default="", help="substring of the model names to measure")
    args = parser.parse_args()
    rows = []
    for name, config, size, guide in MODELS:
        if args.only not in name:
            continue
        params, gflops = measure(config, size)
        rows.append(dict(model=name, config=config, size=list(size), params_M=round(params, 3),
                         gflops=round(gflops, 2), guide_gflops=guide))  # fmt: skip
        print(f"| {name} | {size[0]}x{size[1]} | {params:.2f} | {gflops:.1f} | {guide or ''} |",
              flush=True)  # fmt: skip
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
