"""HardSeg's semantic-segmentation evaluator: one confusion matrix over the whole evaluation set,
accumulated with ``torch.bincount`` on the prediction's device and summed over ranks.

See docs/methods/metrics.md Part A. With ``n_ij`` = pixels of GT class i
predicted as j (GT ignore pixels dropped), ``t_i = sum_j n_ij``, ``s_j = sum_i n_ij``,
``N = sum_i t_i`` and ``U_i = t_i + s_i - n_ii``:

* ``pACC = sum_i n_ii / N``; ``ACC_i = n_ii / t_i`` (NaN if ``t_i = 0``);
  ``mACC`` = mean of ``ACC_i`` over the evaluated classes with ``t_i > 0``;
* ``IoU_i = n_ii / U_i``; ``mIoU`` = mean over the evaluated classes with a defined IoU:
  ``"cityscapes"`` convention (default; cityscapesscripts, detectron2 v0.6, mmseg): every class
  with ``U_i > 0``, so a class predicted but absent from the GT counts as 0;
  ``"gt_present"`` (detectron2 after 2022-07): only classes with ``t_i > 0`` (IoU-<class> is NaN
  for the others);
* ``fwIoU = sum_{i: t_i > 0} (t_i / N) IoU_i``.

"Evaluated classes" are the dataset metadata's ``eval_classes`` (class ids, e.g. SYNTHIA's 13 or
16 classes), all classes when absent. pACC and fwIoU are pixel-level and use every class. All
values are percentages, under detectron2's keys: ``mIoU``, ``fwIoU``, ``mACC``, ``pACC``,
``IoU-<class>``, ``ACC-<class>``.
"""

import itertools
import json
import logging
import os
from collections import OrderedDict
from typing import Optional, Sequence

import numpy as np
import pycocotools.mask as mask_util
import torch
from PIL import Image

from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.evaluation import DatasetEvaluator
from detectron2.utils import comm
from detectron2.utils.file_io import PathManager

from ..data.image_io import naming_file

__all__ = ["HardSegSemSegEvaluator", "sem_seg_metrics", "confusion_matrix", "MIOU_CONVENTIONS"]

MIOU_CONVENTIONS = ("cityscapes", "gt_present")


def confusion_and_bad_values(
    pred: torch.Tensor, gt: torch.Tensor, num_classes: int, ignore_label: int
):
    """``(conf, bad)``: the (K, K) int64 matrix indexed [gt, pred] on ``pred``'s device, and the
    sorted list of GT values outside [0, K) that are not ``ignore_label`` (should be empty).

    An 8-bit GT (the usual label PNG) takes one ``bincount`` over ``gt * K + pred`` with 256 rows,
    whose rows >= K (ignore included) are then dropped; other GT types mask the ignore pixels
    first.

    Raises:
        ValueError: ``pred`` holds a class id outside [0, K) (it would be counted in another
            cell of the matrix).
    """
    k = num_classes
    if pred.numel():
        lo, hi = (int(v) for v in torch.aminmax(pred))
        if lo < 0 or hi >= k:
            bad = torch.unique(pred[(pred < 0) | (pred >= k)]).tolist()
            raise ValueError(
                f"predicted class ids {bad[:10]} are outside [0, {k}): the model predicts more "
                f"classes than the {k} the dataset has. Make MODEL.SEM_SEG_HEAD.NUM_CLASSES "
                "(LazyConfig: the head's num_classes) equal the dataset's class count."
            )
    if gt.dtype == torch.uint8 and k <= 256:
        idx = gt.to(torch.int32) * k + pred.to(torch.int32)
        counts = torch.bincount(idx.view(-1), minlength=256 * k).view(256, k)
        extra = counts[k:].sum(1)
        bad = [v + k for v in torch.nonzero(extra).view(-1).tolist() if v + k != ignore_label]
        return counts[:k].to(torch.int64), bad
    gt = gt.to(torch.int64)
    valid = gt != ignore_label
    out_of_range = valid & ((gt < 0) | (gt >= k))
    if bool(out_of_range.any()):
        return None, torch.unique(gt[out_of_range]).tolist()
    idx = gt[valid] * k + pred[valid].to(torch.int64)
    return torch.bincount(idx, minlength=k * k).view(k, k), []


def confusion_matrix(
    pred: torch.Tensor, gt: torch.Tensor, num_classes: int, ignore_label: int
) -> torch.Tensor:
    """(K, K) int64 matrix indexed [gt, pred] on ``pred``'s device.

    Args:
        pred: (H, W) int class ids in [0, K).
        gt: (H, W) int class ids in [0, K) or ``ignore_label`` (same device as ``pred``).
    Raises:
        ValueError: ``gt`` holds other values, or ``pred`` values outside [0, K).
    """
    conf, bad = confusion_and_bad_values(pred, gt, num_classes, ignore_label)
    if bad:
        raise ValueError(
            f"ground-truth values {bad[:10]} outside [0, {num_classes}) and ignore_label "
            f"{ignore_label}."
        )
    return conf


def sem_seg_metrics(
    conf,
    class_names: Sequence[str],
    eval_classes: Optional[Sequence[int]] = None,
    convention: str = "cityscapes",
) -> "OrderedDict[str, float]":
    """Metrics (percent) of a (K, K) [gt, pred] confusion matrix; see the module docstring."""
    if convention not in MIOU_CONVENTIONS:
        raise ValueError(
            f"TEST.MIOU_CONVENTION={convention!r}; expected one of {MIOU_CONVENTIONS}."
        )
    conf = np.asarray(conf, dtype=np.float64)
    k = conf.shape[0]
    if len(class_names) != k:
        raise ValueError(f"{len(class_names)} class names for a {k}x{k} confusion matrix.")
    tp = np.diag(conf)
    t = conf.sum(1)
    s = conf.sum(0)
    union = t + s - tp
    n = t.sum()
    acc = np.full(k, np.nan)
    acc[t > 0] = tp[t > 0] / t[t > 0]
    iou = np.full(k, np.nan)
    defined = union > 0 if convention == "cityscapes" else t > 0
    iou[defined] = tp[defined] / union[defined]
    sel = np.zeros(k, dtype=bool)
    sel[list(range(k)) if eval_classes is None else list(eval_classes)] = True

    def mean(values):
        v = values[sel & ~np.isnan(values)]
        return float(v.mean()) if v.size else float("nan")

    res = OrderedDict()
    res["mIoU"] = 100 * mean(iou)
    res["fwIoU"] = 100 * float(np.sum(t[t > 0] / n * iou[t > 0])) if n > 0 else float("nan")
    for i, name in enumerate(class_names):
        res[f"IoU-{name}"] = 100 * float(iou[i])
    res["mACC"] = 100 * mean(acc)
    res["pACC"] = 100 * float(tp.sum() / n) if n > 0 else float("nan")
    for i, name in enumerate(class_names):
        res[f"ACC-{name}"] = 100 * float(acc[i])
    return res


class HardSegSemSegEvaluator(DatasetEvaluator):
    """Confusion-matrix evaluator for ``evaluator_type="sem_seg"`` datasets.

    Reads ``stuff_classes`` (K), ``ignore_label`` and optionally ``eval_classes`` from the
    metadata, and the GT from each record's ``sem_seg_file_name`` (raw PNG values). The prediction
    is ``output["sem_seg"].argmax(0)`` (K, H, W) -> (H, W) at the GT size; the matrix stays on its
    device until :meth:`evaluate` gathers the per-rank matrices (``detectron2.utils.comm``) and
    sums them on the main process. With ``output_dir``, also writes ``sem_seg_evaluation.pth``, and
    with ``write_predictions`` too (off by default: the encoding costs more than the evaluation)
    ``sem_seg_predictions.json`` (COCO-stuff RLE per class, as detectron2's SemSegEvaluator).
    """

    def __init__(
        self,
        dataset_name: str,
        distributed: bool = True,
        output_dir: Optional[str] = None,
        *,
        miou_convention: str = "cityscapes",
        write_predictions: bool = False,
    ):
        if miou_convention not in MIOU_CONVENTIONS:
            raise ValueError(
                f"TEST.MIOU_CONVENTION={miou_convention!r}; expected one of {MIOU_CONVENTIONS}."
            )
        self._logger = logging.getLogger(__name__)
        self._dataset_name = dataset_name
        self._distributed = distributed
        self._output_dir = output_dir
        self._convention = miou_convention
        self._write_predictions = write_predictions and output_dir is not None
        self.input_file_to_gt_file = {
            r["file_name"]: r["sem_seg_file_name"] for r in DatasetCatalog.get(dataset_name)
        }
        meta = MetadataCatalog.get(dataset_name)
        self._class_names = list(meta.stuff_classes)
        self._num_classes = len(self._class_names)
        self._ignore_label = meta.ignore_label
        self._eval_classes = meta.get("eval_classes", None)
        if self._eval_classes is not None:
            bad = [c for c in self._eval_classes if not 0 <= int(c) < self._num_classes]
            if bad or len(self._eval_classes) == 0:
                raise ValueError(
                    f"dataset {dataset_name!r}: metadata eval_classes={list(self._eval_classes)} "
                    f"must be a non-empty list of class ids in [0, {self._num_classes})."
                )
        c2d = meta.get("stuff_dataset_id_to_contiguous_id", None)
        self._contiguous_id_to_dataset_id = {v: k for k, v in c2d.items()} if c2d else None

    def reset(self):
        self._conf = None
        self._predictions = []

    def _read_gt(self, file_name: str) -> np.ndarray:
        path = self.input_file_to_gt_file[file_name]
        with naming_file(path), PathManager.open(path, "rb") as f:
            return np.array(Image.open(f))  # writable, for torch.from_numpy

    def process(self, inputs, outputs):
        for input, output in zip(inputs, outputs):
            logits = output["sem_seg"]
            if logits.shape[0] != self._num_classes:
                raise ValueError(
                    f"{input['file_name']}: the model outputs {logits.shape[0]} class scores but "
                    f"dataset {self._dataset_name!r} has {self._num_classes} classes (metadata "
                    f"stuff_classes). Set MODEL.SEM_SEG_HEAD.NUM_CLASSES {self._num_classes} "
                    "(LazyConfig: the head's num_classes)."
                )
            # = argmax(0) (first maximum on ties), but about 2x faster on the CPU in torch 2.x
            pred = logits.max(dim=0).indices
            gt_np = self._read_gt(input["file_name"])
            if gt_np.dtype != np.uint8:
                gt_np = gt_np.astype(np.int64)
            gt = torch.from_numpy(gt_np).to(pred.device)
            if gt.shape != pred.shape:
                raise ValueError(
                    f"{input['file_name']}: prediction size {tuple(pred.shape)} differs from the "
                    f"ground truth size {tuple(gt.shape)}."
                )
            conf, bad = confusion_and_bad_values(pred, gt, self._num_classes, self._ignore_label)
            if bad:
                raise ValueError(
                    f"{self.input_file_to_gt_file[input['file_name']]}: ground-truth values "
                    f"{bad[:10]} outside [0, {self._num_classes}) and ignore_label "
                    f"{self._ignore_label}."
                )
            self._conf = conf if self._conf is None else self._conf + conf
            if self._write_predictions:
                self._predictions.extend(self._encode_json(pred.cpu().numpy(), input["file_name"]))

    def _encode_json(self, sem_seg: np.ndarray, file_name: str):
        out = []
        for label in np.unique(sem_seg):
            dataset_id = int(label)
            if self._contiguous_id_to_dataset_id is not None:
                dataset_id = self._contiguous_id_to_dataset_id[int(label)]
            rle = mask_util.encode(np.asfortranarray((sem_seg == label)[:, :, None], np.uint8))[0]
            rle["counts"] = rle["counts"].decode("utf-8")
            out.append({"file_name": file_name, "category_id": dataset_id, "segmentation": rle})
        return out

    def confusion(self) -> np.ndarray:
        """This rank's (K, K) [gt, pred] matrix as int64 numpy (zeros before any ``process``)."""
        if self._conf is None:
            return np.zeros((self._num_classes, self._num_classes), dtype=np.int64)
        return self._conf.cpu().numpy()

    def evaluate(self):
        conf = self.confusion()
        predictions = self._predictions
        if self._distributed:
            comm.synchronize()
            conf = np.sum(comm.all_gather(conf), axis=0)
            if self._write_predictions:
                predictions = list(itertools.chain(*comm.all_gather(predictions)))
            if not comm.is_main_process():
                return
        res = sem_seg_metrics(conf, self._class_names, self._eval_classes, self._convention)
        if self._output_dir:
            PathManager.mkdirs(self._output_dir)
            if self._write_predictions:
                path = os.path.join(self._output_dir, "sem_seg_predictions.json")
                with PathManager.open(path, "w") as f:
                    f.write(json.dumps(predictions))
            with PathManager.open(
                os.path.join(self._output_dir, "sem_seg_evaluation.pth"), "wb"
            ) as f:
                torch.save(dict(res), f)
        self._logger.info(f"{self._dataset_name}: {dict(res)}")
        return OrderedDict({"sem_seg": res})
