"""IoU / accuracy binned by distance to the ground-truth class boundary."""

import numpy as np
import pytest
import torch

from detectron2.data import DatasetCatalog
from detectron2.evaluation import DatasetEvaluators

from hardseg.data.mappers import read_label_map
from hardseg.evaluation import build_sem_seg_evaluator
from hardseg.evaluation.difficulty import DifficultyEvaluator, bin_labels, boundary_distance
from tests.common import tiny_cfg

VAL = "hardshapes_sem_seg_val"


def test_boundary_distance_by_hand():
    row = np.array([[0, 0, 0, 1, 1, 1]])
    assert boundary_distance(row).tolist() == [[2, 1, 0, 0, 1, 2]]
    gt = np.zeros((5, 5), np.int64)
    gt[2, 2] = 1
    d = boundary_distance(gt)  # boundary: the centre and its 4 neighbours
    assert d[2, 2] == 0 and d[1, 2] == 0 and d[0, 2] == 1 and d[0, 0] == pytest.approx(np.sqrt(5))
    assert np.isinf(boundary_distance(np.zeros((3, 3)))).all()
    assert bin_labels([0, 2, 8]) == ["[0,2)", "[2,8)", "[8,inf)"]


def _one_hot(pred, k=7):
    return torch.nn.functional.one_hot(torch.as_tensor(pred), k).permute(2, 0, 1).float()


def test_evaluator_bins_errors_by_distance(tmp_path):
    records = DatasetCatalog.get(VAL)[:2]
    ev = DifficultyEvaluator(VAL, edges=(0, 2), output_dir=str(tmp_path))
    ev.reset()
    near_pixels = 0
    for r in records:
        gt = read_label_map(r["sem_seg_file_name"]).astype(np.int64)
        near = (boundary_distance(gt) < 2) & (gt != 255)
        near_pixels += near.sum()
        pred = np.where(gt == 255, 0, gt)
        pred = np.where(near, (pred + 1) % 7, pred)  # wrong exactly on the near-boundary pixels
        ev.process([{"file_name": r["file_name"]}], [{"sem_seg": _one_hot(pred)}])
    res = ev.evaluate()["sem_seg_difficulty"]
    assert res["pACC[0,2)"] == 0 and res["mIoU[0,2)"] == 0
    assert res["pACC[2,inf)"] == 100 and res["mIoU[2,inf)"] == 100
    assert res["pixels%[0,2)"] + res["pixels%[2,inf)"] == pytest.approx(100)
    total = sum((read_label_map(r["sem_seg_file_name"]) != 255).sum() for r in records)
    assert res["pixels%[0,2)"] == pytest.approx(100 * near_pixels / total)
    assert (tmp_path / "difficulty_metrics.json").exists()


def test_hooked_into_build_behind_a_config_key():
    assert list(tiny_cfg().TEST.DIFFICULTY_BINS) == []
    assert not isinstance(build_sem_seg_evaluator(VAL), DatasetEvaluators)
    ev = build_sem_seg_evaluator(VAL, difficulty_bins=[0, 2, 8])
    assert isinstance(ev, DatasetEvaluators)
    assert isinstance(ev._evaluators[1], DifficultyEvaluator)
    with pytest.raises(ValueError, match="increasing bin edges"):
        DifficultyEvaluator(VAL, edges=(1, 2))
