#!/usr/bin/env python
"""Training-mapper cost per sample: detectron2's DatasetMapper vs HardSeg's SemanticDatasetMapper
with CE (no extra targets), DPCE (``dist_penalty``) and the boundary loss (``signed_dist``), the
distance maps from OpenCV and stored compactly (today) or from SciPy's float64 EDT and stored in
float16 (the previous implementation, hardseg/data/targets/distance_reference.py), on a
Cityscapes-like sample (``hardseg.utils.synthetic.blocky_label``: 19 classes, 1024x2048, blocky
label with ignore pixels; a JPEG image).

    python bench/mapper_cost.py --size 1024 2048 --repeats 3 --json bench/results/mapper_cost_cpu.json

No augmentation (the maps are computed on the augmented label; a crop only makes them cheaper).
Runs are interleaved (repeat r times every variant in turn), one thread. The table gives the
median seconds per sample of the whole mapper and its ratio to detectron2's mapper, the median
seconds of the distance maps alone (the target generator on the decoded label, timed in the same
rounds) and the speed-up of the maps over the SciPy path, and the distance-map bytes per sample.
The boundary maps are stored for the present classes only: a last line gives their size on the
four corner crops ``--crop`` (a training crop has fewer classes than the whole map).
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import cv2
import numpy as np
import torch
from PIL import Image
from tabulate import tabulate

from detectron2.data import DatasetMapper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from hardseg.data.mappers import SemanticDatasetMapper  # noqa: E402
from hardseg.data.targets import ClassMaps, DistanceMapTargets, dist_penalty_map  # noqa: E402
from hardseg.data.targets.distance_reference import (  # noqa: E402
    scipy_dist_penalty_map,
    scipy_signed_distance_maps,
)
from hardseg.utils.synthetic import blocky_label  # noqa: E402

K = 19


class ScipyTargets(DistanceMapTargets):
    """The previous target generator: SciPy maps, stored in float16 (every class)."""

    def __call__(self, sem_seg):
        out = {}
        if "dist_penalty" in self.keys:
            d = scipy_dist_penalty_map(sem_seg, self.ignore_value)
            out["dist_penalty"] = torch.from_numpy(d.astype(np.float16))
        if "signed_dist" in self.keys:
            phi = scipy_signed_distance_maps(sem_seg, self.num_classes)
            out["signed_dist"] = torch.from_numpy(phi.astype(np.float16))
        return out


class ExactPenaltyTargets(DistanceMapTargets):
    """Today's generator with the exact (not chamfer) transform for the DPCE map."""

    def __call__(self, sem_seg):
        d = dist_penalty_map(sem_seg, self.ignore_value, exact=True)
        return {"dist_penalty": torch.from_numpy(cv2.convertScaleAbs(d, alpha=255.0))}


def map_bytes(out) -> int:
    """Bytes of the distance maps of a mapper output (all tensors of a :class:`ClassMaps`)."""
    total = 0
    for k in ("dist_penalty", "signed_dist"):
        if k in out:
            tensors = (out[k].classes, out[k].maps) if isinstance(out[k], ClassMaps) else (out[k],)
            total += sum(t.numel() * t.element_size() for t in tensors)
    return total


def crop_storage(label, crop):
    """Boundary-map bytes of the four corner crops ``crop`` (h, w) of ``label``, as a training crop
    would give them: the present classes and the mean MiB, now and before (every class)."""
    h, w = min(crop[0], label.shape[0]), min(crop[1], label.shape[1])
    gen = DistanceMapTargets(("signed_dist",), K)
    present, mib = [], []
    for y in (0, label.shape[0] - h):
        for x in (0, label.shape[1] - w):
            out = gen(np.ascontiguousarray(label[y : y + h, x : x + w]))
            present.append(len(out["signed_dist"].classes))
            mib.append(map_bytes(out) / 2**20)
    return {
        "size": [h, w],
        "present_classes": present,
        "maps_mib": float(np.mean(mib)),
        "maps_mib_before": K * h * w * 2 / 2**20,
    }


def make_sample(folder, h, w, seed=0):
    label = blocky_label(h, w, K, seed=seed)
    rng = np.random.default_rng(seed + 1)
    img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    Image.fromarray(img).save(os.path.join(folder, "img.jpg"), quality=90)
    Image.fromarray(label).save(os.path.join(folder, "label.png"))
    return label, {
        "file_name": os.path.join(folder, "img.jpg"),
        "sem_seg_file_name": os.path.join(folder, "label.png"),
        "height": h,
        "width": w,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, nargs=2, default=(1024, 2048))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--crop", type=int, nargs=2, default=(512, 1024))
    ap.add_argument("--json", default="")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    cv2.setNumThreads(1)

    def ours(gen):
        return SemanticDatasetMapper(
            True, augmentations=[], image_format="RGB", num_classes=K, target_generator=gen
        )

    generators = {
        "HardSeg, DPCE (OpenCV)": DistanceMapTargets(("dist_penalty",), K),
        "HardSeg, DPCE (OpenCV exact)": ExactPenaltyTargets(("dist_penalty",), K),
        "HardSeg, boundary (OpenCV)": DistanceMapTargets(("signed_dist",), K),
        "HardSeg, DPCE (SciPy, before)": ScipyTargets(("dist_penalty",), K),
        "HardSeg, boundary (SciPy, before)": ScipyTargets(("signed_dist",), K),
    }
    variants = {
        "detectron2 DatasetMapper": DatasetMapper(True, augmentations=[], image_format="RGB"),
        "HardSeg, CE": ours(None),
        **{name: ours(gen) for name, gen in generators.items()},
    }
    before = {
        "HardSeg, DPCE (OpenCV)": "HardSeg, DPCE (SciPy, before)",
        "HardSeg, DPCE (OpenCV exact)": "HardSeg, DPCE (SciPy, before)",
        "HardSeg, boundary (OpenCV)": "HardSeg, boundary (SciPy, before)",
    }
    times = {k: [] for k in variants}
    map_times = {k: [] for k in generators}
    nbytes = {}
    with tempfile.TemporaryDirectory() as tmp:
        label, d = make_sample(tmp, *args.size)
        for _ in range(args.repeats):  # interleaved
            for name, mapper in variants.items():
                t0 = time.perf_counter()
                out = mapper(dict(d))
                times[name].append(time.perf_counter() - t0)
                nbytes[name] = map_bytes(out)
                if name in generators:  # the maps alone, on the same label
                    t0 = time.perf_counter()
                    generators[name](label)
                    map_times[name].append(time.perf_counter() - t0)
    present = int(np.isin(np.arange(K), label).sum())
    base = statistics.median(times["detectron2 DatasetMapper"])
    med_map = {k: statistics.median(v) for k, v in map_times.items()}
    rows = []
    for name in variants:
        med = statistics.median(times[name])
        m = med_map.get(name)
        speedup = med_map[before[name]] / m if name in before else None
        rows.append([name, med, med / base, m, speedup, nbytes[name] / 2**20])
    print(
        f"mapper cost per sample, {args.size[0]}x{args.size[1]}, {K} classes ({present} present), "
        f"1 thread, median of {args.repeats} interleaved rounds"
    )
    headers = ["mapper", "s/sample", "x detectron2", "maps s", "maps speed-up", "maps MiB"]
    print(tabulate(rows, headers, floatfmt=".3f", missingval="-"))
    crops = crop_storage(label, args.crop)
    print(
        f"boundary maps of the four {args.crop[0]}x{args.crop[1]} corner crops: "
        f"{crops['present_classes']} classes present, {crops['maps_mib']:.2f} MiB each on average "
        f"(before: {crops['maps_mib_before']:.2f} MiB)"
    )
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(
                {
                    "size": list(args.size),
                    "num_classes": K,
                    "present_classes": present,
                    "crops": crops,
                    "repeats": args.repeats,
                    "threads": 1,
                    "rows": {
                        r[0]: {
                            "s_per_sample": r[1],
                            "x_detectron2": r[2],
                            "maps_s": r[3],
                            "maps_speedup_vs_scipy": r[4],
                            "maps_mib": r[5],
                        }
                        for r in rows
                    },
                    "raw_s": times,
                    "raw_maps_s": map_times,
                },
                f,
                indent=1,
            )


if __name__ == "__main__":
    main()
