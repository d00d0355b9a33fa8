"""Helpers shared by the training benchmarks on hardshapes (``hl_gain.py``, ``semisup.py``).

* :func:`launch` runs one command in a subprocess (one thread unless ``OMP_NUM_THREADS`` says
  otherwise), its output to a log file, and raises with the command and the log on failure;
* :func:`run_one` trains + evaluates one config with ``tools/train_net.py`` in a subprocess and
  returns the ``sem_seg`` metrics of ``OUTPUT_DIR/inference/<dataset>/sem_seg_metrics.json``;
* :func:`iteration_times` reads detectron2's per-iteration ``time`` from ``OUTPUT_DIR/metrics.json``;
* :func:`summarize` turns ``runs[variant][seed] -> metrics`` into per-class / mIoU / thin / small /
  pACC means and stds over seeds; :func:`table` prints them, :func:`chart` draws them (matplotlib,
  or plain PIL bars when matplotlib is missing).
"""

import json
import os
import statistics
import subprocess
import sys
import time

from tabulate import tabulate

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)
from hardseg.data.datasets.hardshapes import (  # noqa: E402
    HARDSHAPES_CLASSES,
    HARDSHAPES_SMALL_CLASS_IDS,
    HARDSHAPES_THIN_CLASS_IDS,
)

DATASET = "hardshapes_sem_seg_val"
# summary rows below the classes, in table order (mean key; its std is key + "_std")
GROUPS = ("thin_mIoU", "small_mIoU", "mIoU", "pACC")
# matplotlib colour -> RGB for the PIL fallback chart
PIL_COLORS = {
    "tab:gray": (128, 128, 128),
    "tab:red": (214, 39, 40),
    "tab:blue": (31, 119, 180),
    "tab:orange": (255, 127, 14),
    "tab:green": (44, 160, 44),
    "tab:purple": (148, 103, 189),
    "tab:brown": (140, 86, 75),
    "tab:pink": (227, 119, 194),
    "tab:olive": (188, 189, 34),
    "tab:cyan": (23, 190, 207),
    "black": (0, 0, 0),
    "gold": (255, 215, 0),
}


def launch(cmd, log):
    """Run ``cmd`` (a list) in the repository root, stdout and stderr to the file ``log``, with
    ``OMP_NUM_THREADS`` 1 unless set. Raises RuntimeError naming the command and ``log`` on a
    non-zero exit."""
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    with open(log, "w") as f:
        proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode}); see {log}")


def run_one(config, seed, iters, out_dir, opts, log, dataset=DATASET):
    """Train + evaluate one config (``SEED seed``, ``SOLVER.MAX_ITER iters``, no intermediate
    checkpoints, ``OUTPUT_DIR out_dir``, then ``opts``); the output goes to ``log``. Returns the
    metrics dict (``sem_seg`` results) with ``wall_s`` added; raises RuntimeError on failure."""
    cmd = [
        sys.executable,
        os.path.join(REPO, "tools/train_net.py"),
        "--config-file",
        os.path.join(REPO, config),
        "SEED",
        str(seed),
        "SOLVER.MAX_ITER",
        str(iters),
        "SOLVER.CHECKPOINT_PERIOD",
        str(10**9),
        "OUTPUT_DIR",
        out_dir,
        *opts,
    ]
    start = time.perf_counter()
    launch(cmd, log)
    with open(os.path.join(out_dir, "inference", dataset, "sem_seg_metrics.json")) as f:
        metrics = json.load(f)
    metrics = metrics.get("sem_seg", metrics)
    metrics["wall_s"] = time.perf_counter() - start
    return metrics


def iteration_times(out_dir):
    """``[(iteration, time)]`` from detectron2's ``OUTPUT_DIR/metrics.json``. Each ``time`` is the
    median step time of the 20 iterations up to ``iteration`` (JSONWriter window; lines every 20
    iterations and at the last one; IterationTimer skips the first 3 iterations)."""
    out = []
    with open(os.path.join(out_dir, "metrics.json")) as f:
        for line in f:
            line = line.strip()
            if line:
                d = json.loads(line)
                if "time" in d:
                    out.append((int(d["iteration"]), float(d["time"])))
    return out


def class_iou(metrics):
    return [float(metrics[f"IoU-{c}"]) for c in HARDSHAPES_CLASSES]


def mean_std(values):
    """(mean, sample std); std 0 for a single value."""
    values = list(values)
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def summarize(runs):
    """``runs[variant][seed] -> metrics`` -> per-variant means/stds of per-class IoU, mIoU and
    the thin / small group means."""
    out = {}
    for variant, by_seed in runs.items():
        per_seed = [class_iou(m) for m in by_seed.values()]
        groups = {
            "mIoU": [statistics.mean(x) for x in per_seed],
            "thin_mIoU": [
                statistics.mean(x[i] for i in HARDSHAPES_THIN_CLASS_IDS) for x in per_seed
            ],
            "small_mIoU": [
                statistics.mean(x[i] for i in HARDSHAPES_SMALL_CLASS_IDS) for x in per_seed
            ],
            "pACC": [float(m["pACC"]) for m in by_seed.values()],
        }
        out[variant] = {
            "per_class_mean": {
                c: mean_std([x[i] for x in per_seed])[0] for i, c in enumerate(HARDSHAPES_CLASSES)
            },
            "per_class_std": {
                c: mean_std([x[i] for x in per_seed])[1] for i, c in enumerate(HARDSHAPES_CLASSES)
            },
            **{k: mean_std(v)[0] for k, v in groups.items()},
            **{k + "_std": mean_std(v)[1] for k, v in groups.items()},
            **{k + "_per_seed": v for k, v in groups.items()},
        }
    return out


def _value(s, name, std=False):
    """Mean (or std) of a class or of a group row of one variant's summary."""
    if std:
        return s["per_class_std"].get(name, s.get(name + "_std"))
    return s["per_class_mean"].get(name, s.get(name))


def table(summary, columns, deltas=(), extra_rows=()):
    """Rows: the classes, then :data:`GROUPS`; one ``mean ± std`` column per ``(variant, header)``
    of ``columns``, one ``+x.xx`` column per ``(variant, reference, header)`` of ``deltas``; then
    the ``extra_rows`` as given (lists of cells)."""
    rows = []
    for name in list(HARDSHAPES_CLASSES) + list(GROUPS):
        row = [name]
        for variant, _ in columns:
            s = summary[variant]
            row.append(f"{_value(s, name):.2f} ± {_value(s, name, std=True):.2f}")
        for variant, ref, _ in deltas:
            row.append(f"{_value(summary[variant], name) - _value(summary[ref], name):+.2f}")
        rows.append(row)
    rows.extend(list(r) for r in extra_rows)
    headers = ["class / group"] + [h for _, h in columns] + [h for _, _, h in deltas]
    return tabulate(rows, headers=headers)


def chart(summary, path, variants, colors, title, pil_title, labels=None):
    """Per-class IoU bars (mean over seeds, std as error bars) plus thin / small / mIoU, one bar
    per variant (legend: ``labels`` or the variant names). Returns ``path``."""
    names = list(HARDSHAPES_CLASSES) + ["thin", "small", "mIoU"]
    extra = {"thin": "thin_mIoU", "small": "small_mIoU", "mIoU": "mIoU"}
    labels = list(labels or variants)
    if len(colors) < len(variants) or len(labels) != len(variants):
        raise ValueError(
            f"chart {path}: {len(variants)} variants need as many colours and labels "
            f"(got {len(colors)} colours, {len(labels)} labels)."
        )

    def values(v, std=False):
        return [_value(summary[v], extra.get(n, n), std=std) for n in names]

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # no matplotlib: plain bars with PIL
        return _chart_pil(
            names, [values(v) for v in variants], [PIL_COLORS[c] for c in colors], pil_title, path
        )
    x = range(len(names))
    n = len(variants)
    width = 0.8 / n
    fig, ax = plt.subplots(figsize=(10 + 3 * (n > 4), 4))
    for k, (variant, color, label) in enumerate(zip(variants, colors, labels)):
        ax.bar(
            [i + (k - (n - 1) / 2) * width for i in x],
            values(variant),
            width,
            yerr=values(variant, std=True),
            color=color,
            label=label,
            capsize=2,
        )
    ax.set_xticks(list(x))
    ax.set_xticklabels(names)
    ax.set_ylabel("IoU (%)")
    ax.set_title(title)
    if n > 4:  # many variants: the legend beside the axes, not over the bars
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    else:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _chart_pil(names, series, colors, title, path):
    """Grouped bars (IoU 0-100) without matplotlib: one bar per series, class names below."""
    from PIL import Image, ImageDraw

    slot = max(80, 20 + 30 * len(series))
    w, h, top, bottom = slot * len(names) + 40, 300, 20, 40
    img = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(img)
    scale = (h - top - bottom) / 100.0
    for i, name in enumerate(names):
        x = 20 + i * slot
        for k, (vals, color) in enumerate(zip(series, colors)):
            x0 = x + 10 + k * 30
            draw.rectangle([x0, h - bottom - vals[i] * scale, x0 + 28, h - bottom], fill=color)
        draw.text((x + 10, h - bottom + 8), name, fill="black")
    draw.text((20, 4), title, fill="black")
    img.save(path)
    return path
