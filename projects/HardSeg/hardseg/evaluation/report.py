"""Print semantic-segmentation results as a table and save them as JSON."""

import json
import os

from tabulate import tabulate

from detectron2.utils.file_io import PathManager

SUMMARY_KEYS = ("mIoU", "fwIoU", "mACC", "pACC", "IoU", "iIoU", "IoU_sup", "iIoU_sup")


def format_sem_seg_table(results: dict, class_names) -> str:
    """``results`` is one evaluator's ``{"sem_seg": {...}}``. Returns a per-class table (IoU and
    accuracy, as SemSegEvaluator reports them) followed by the summary metrics."""
    res = results["sem_seg"]
    lines = []
    rows = [
        (name, res[f"IoU-{name}"], res.get(f"ACC-{name}", float("nan")))
        for name in class_names
        if f"IoU-{name}" in res
    ]
    if rows:
        lines.append(tabulate(rows, headers=["class", "IoU", "Acc"], floatfmt=".2f"))
    summary = [(k, res[k]) for k in SUMMARY_KEYS if k in res]
    lines.append(tabulate(summary, headers=["metric", "value"], floatfmt=".2f"))
    return "\n\n".join(lines)


def save_results_json(results: dict, path: str):
    PathManager.mkdirs(os.path.dirname(path))
    with PathManager.open(path, "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
