#!/usr/bin/env python
"""Training-mapper cost per sample: detectron2's DatasetMapper vs HardSeg's SemanticDatasetMapper
with CE (no extra targets), DPCE (``dist_penalty``) and the boundary loss (``signed_dist``), the
distance maps from OpenCV (today) and from SciPy's float64 EDT (the previous implementation,
written out below), on a Cityscapes-like sample (19 classes, 1024x2048, blocky label with
ignore pixels, a JPEG image).

    python bench/mapper_cost.py --size 1024 2048 --repeats 5 --json bench/results/mapper_cost_cpu.json

No augmentation (the maps are computed on the augmented label; a crop only makes them cheaper).
Runs are interleaved (repeat r times every variant in turn), one thread; the table gives the
median seconds per sample, the ratio to detectron2's mapper and the distance-map bytes per sample.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import torch
from PIL import Image
from scipy.ndimage import distance_transform_edt
from tabulate import tabulate

from detectron2.data import DatasetMapper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from hardseg.data.mappers import SemanticDatasetMapper  # noqa: E402
from hardseg.data.targets import DistanceMapTargets  # noqa: E402

K = 19


def scipy_signed(label, k):
    """The previous ``signed_distance_maps``: two float64 SciPy EDTs per present class."""
    out = np.zeros((k,) + label.shape, dtype=np.float32)
    for c in np.unique(label):
        g = label == c
        if c < k and not g.all():
            out[c] = distance_transform_edt(~g) * ~g - (distance_transform_edt(g) - 1) * g
    return out


def scipy_penalty(label, ignore=255):
    """The previous ``dist_penalty_map`` (float64 SciPy EDT to the 4-neighbour boundary)."""
    b = np.zeros(label.shape, bool)
    dv, dh = label[1:] != label[:-1], label[:, 1:] != label[:, :-1]
    b[1:] |= dv
    b[:-1] |= dv
    b[:, 1:] |= dh
    b[:, :-1] |= dh
    d = distance_transform_edt(~b)
    out = 1.0 - d / d.max()
    out[label == ignore] = 0
    return out.astype(np.float32)


class ScipyTargets(DistanceMapTargets):
    def __call__(self, sem_seg):
        out = {}
        if "dist_penalty" in self.keys:
            out["dist_penalty"] = torch.from_numpy(scipy_penalty(sem_seg).astype(np.float16))
        if "signed_dist" in self.keys:
            phi = scipy_signed(sem_seg, self.num_classes)
            out["signed_dist"] = torch.from_numpy(phi.astype(np.float16))
        return out


def make_sample(folder, h, w, seed=0):
    rng = np.random.default_rng(seed)
    label = np.zeros((h, w), np.uint8)
    for _ in range(60):  # blocks of 19 classes and some ignore
        c = int(rng.choice(list(range(K)) + [255]))
        y, x = rng.integers(0, h), rng.integers(0, w)
        label[y : y + rng.integers(h // 20, h // 3), x : x + rng.integers(w // 20, w // 3)] = c
    img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    Image.fromarray(img).save(os.path.join(folder, "img.jpg"), quality=90)
    Image.fromarray(label).save(os.path.join(folder, "label.png"))
    return {
        "file_name": os.path.join(folder, "img.jpg"),
        "sem_seg_file_name": os.path.join(folder, "label.png"),
        "height": h,
        "width": w,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, nargs=2, default=(1024, 2048))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", default="")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    import cv2

    cv2.setNumThreads(1)

    def ours(keys, cls=DistanceMapTargets):
        gen = cls(keys, K) if keys else None
        return SemanticDatasetMapper(
            True, augmentations=[], image_format="RGB", num_classes=K, target_generator=gen
        )

    variants = {
        "detectron2 DatasetMapper": DatasetMapper(True, augmentations=[], image_format="RGB"),
        "HardSeg, CE": ours(()),
        "HardSeg, DPCE (OpenCV)": ours(("dist_penalty",)),
        "HardSeg, boundary (OpenCV)": ours(("signed_dist",)),
        "HardSeg, DPCE (SciPy, before)": ours(("dist_penalty",), ScipyTargets),
        "HardSeg, boundary (SciPy, before)": ours(("signed_dist",), ScipyTargets),
    }
    times = {k: [] for k in variants}
    nbytes = {}
    with tempfile.TemporaryDirectory() as tmp:
        d = make_sample(tmp, *args.size)
        for _ in range(args.repeats):  # interleaved
            for name, mapper in variants.items():
                t0 = time.perf_counter()
                out = mapper(dict(d))
                times[name].append(time.perf_counter() - t0)
                nbytes[name] = sum(
                    out[k].numel() * out[k].element_size()
                    for k in ("dist_penalty", "signed_dist")
                    if k in out
                )
    base = statistics.median(times["detectron2 DatasetMapper"])
    rows = []
    for name in variants:
        med = statistics.median(times[name])
        rows.append([name, med, med / base, nbytes[name] / 2**20])
    print(f"mapper cost per sample, {args.size[0]}x{args.size[1]}, {K} classes, 1 thread")
    print(tabulate(rows, ["mapper", "s/sample", "x detectron2", "maps MiB"], floatfmt=".3f"))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(
                {
                    "size": list(args.size),
                    "num_classes": K,
                    "repeats": args.repeats,
                    "threads": 1,
                    "rows": {
                        r[0]: {"s_per_sample": r[1], "x_detectron2": r[2], "maps_mib": r[3]}
                        for r in rows
                    },
                    "raw_s": times,
                },
                f,
                indent=1,
            )


if __name__ == "__main__":
    main()
