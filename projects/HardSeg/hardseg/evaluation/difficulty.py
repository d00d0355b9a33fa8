"""IoU and accuracy binned by ground-truth difficulty: the distance of each pixel to the nearest
class boundary of its ground truth, so that users can see where HL helps (thin structures and
boundaries lie in the first bins, region interiors in the last)."""

import json
import os
from typing import Sequence

import numpy as np
from scipy.ndimage import distance_transform_edt

from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.evaluation import DatasetEvaluator
from detectron2.utils import comm
from detectron2.utils.file_io import PathManager

from ..data.mappers import read_label_map

__all__ = ["DifficultyEvaluator", "boundary_distance", "bin_labels"]


def boundary_distance(gt: np.ndarray) -> np.ndarray:
    """Euclidean distance (pixels) from every pixel of the (H, W) label map ``gt`` to the nearest
    boundary pixel, a pixel whose right or lower neighbour has another label (the ignore label
    included, so void borders count as boundaries). Boundary pixels (both sides) are at 0. A map
    with a single label has no boundary: every distance is +inf."""
    boundary = np.zeros(gt.shape, bool)
    dx = gt[:, 1:] != gt[:, :-1]
    dy = gt[1:, :] != gt[:-1, :]
    boundary[:, 1:] |= dx
    boundary[:, :-1] |= dx
    boundary[1:, :] |= dy
    boundary[:-1, :] |= dy
    if not boundary.any():
        return np.full(gt.shape, np.inf)
    return distance_transform_edt(~boundary)


def bin_labels(edges: Sequence[float]):
    """``[0, 2, 8]`` -> ``["[0,2)", "[2,8)", "[8,inf)"]``."""
    edges = list(edges)
    return [f"[{a:g},{b:g})" for a, b in zip(edges, edges[1:])] + [f"[{edges[-1]:g},inf)"]


class DifficultyEvaluator(DatasetEvaluator):
    """Per difficulty bin (distance to the GT class boundary in ``edges`` px bins): mIoU (classes
    with a non-empty union in the bin; a class predicted but absent counts 0, the cityscapes
    convention), pixel accuracy, and the share of valid pixels in the bin.

    Returns ``{"sem_seg_difficulty": {"mIoU[0,2)": ..., "pACC[0,2)": ..., "pixels%[0,2)": ...}}``
    (percentages) and writes ``difficulty_metrics.json`` (with per-class IoU per bin) to
    ``output_dir``. Outputs are ``{"sem_seg": (K, H, W)}`` at the ground truth's size."""

    def __init__(self, dataset_name: str, edges=(0, 2, 4, 8, 16, 32), output_dir=None):
        edges = [float(e) for e in edges]
        if not edges or edges[0] != 0 or any(b <= a for a, b in zip(edges, edges[1:])):
            raise ValueError(
                f"TEST.DIFFICULTY_BINS={edges}: expected increasing bin edges starting at 0."
            )
        meta = MetadataCatalog.get(dataset_name)
        self.dataset_name = dataset_name
        self.edges = np.asarray(edges)
        self.labels = bin_labels(edges)
        self.class_names = list(meta.stuff_classes)
        self.num_classes = len(self.class_names)
        self.ignore_label = meta.get("ignore_label", 255)
        self.output_dir = output_dir
        self._gt_files = {
            r["file_name"]: r["sem_seg_file_name"] for r in DatasetCatalog.get(dataset_name)
        }

    def reset(self):
        k = self.num_classes
        self._conf = np.zeros((len(self.labels), k, k), np.int64)

    def process(self, inputs, outputs):
        k = self.num_classes
        for inp, out in zip(inputs, outputs):
            pred = out["sem_seg"].argmax(dim=0).cpu().numpy()
            gt = read_label_map(self._gt_files[inp["file_name"]]).astype(np.int64)
            dist = boundary_distance(gt)
            valid = gt != self.ignore_label
            bins = np.searchsorted(self.edges, dist[valid], side="right") - 1
            idx = (bins * k + gt[valid]) * k + pred[valid]
            self._conf += np.bincount(idx, minlength=self._conf.size).reshape(self._conf.shape)

    def evaluate(self):
        conf = self._conf
        if comm.get_world_size() > 1:
            conf = sum(comm.gather(conf, dst=0)) if comm.is_main_process() else comm.gather(conf)
            if not comm.is_main_process():
                return None
        results, per_class = {}, {}
        total = conf.sum()
        for label, c in zip(self.labels, conf):
            tp = np.diag(c).astype(float)
            union = c.sum(0) + c.sum(1) - tp
            present = union > 0
            n = c.sum()
            results[f"mIoU{label}"] = (
                100 * float((tp[present] / union[present]).mean()) if n else float("nan")
            )
            results[f"pACC{label}"] = 100 * float(tp.sum() / n) if n else float("nan")
            results[f"pixels%{label}"] = 100 * float(n / total) if total else 0.0
            per_class[label] = {
                name: (100 * float(tp[i] / union[i]) if present[i] else None)
                for i, name in enumerate(self.class_names)
            }
        if self.output_dir:
            PathManager.mkdirs(self.output_dir)
            path = os.path.join(self.output_dir, "difficulty_metrics.json")
            with PathManager.open(path, "w") as f:
                json.dump({"bins": self.labels, "metrics": results, "IoU": per_class}, f, indent=2)
        return {"sem_seg_difficulty": results}
