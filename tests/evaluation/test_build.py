import json

import numpy as np
import pytest
import torch
from PIL import Image

from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.evaluation import CityscapesSemSegEvaluator

from hardseg.evaluation import (
    HardSegSemSegEvaluator,
    build_sem_seg_evaluator,
    format_sem_seg_table,
    save_results_json,
)
from tests.common import write_label_png


def test_evaluator_follows_metadata():
    assert isinstance(build_sem_seg_evaluator("hardshapes_sem_seg_val"), HardSegSemSegEvaluator)
    assert isinstance(
        build_sem_seg_evaluator("cityscapes_fine_sem_seg_val"), CityscapesSemSegEvaluator
    )
    MetadataCatalog.get("test_odd_evaluator").set(evaluator_type="coco")
    with pytest.raises(ValueError, match="'test_odd_evaluator' has evaluator_type='coco'"):
        build_sem_seg_evaluator("test_odd_evaluator")


def test_sem_seg_numbers_table_and_json(tmp_path):
    # 2 classes; GT [[0, 0], [1, 255]], prediction [[0, 1], [1, 1]] (the ignored pixel drops out).
    # class 0: TP 1, FN 1, FP 0 -> IoU 1/2 ; class 1: TP 1, FP 1 -> IoU 1/2 ; pACC 2/3
    gt = tmp_path / "gt.png"
    write_label_png(gt, [[0, 0], [1, 255]])
    name = "test_tiny_eval"
    DatasetCatalog.register(name, lambda: [{"file_name": "x.png", "sem_seg_file_name": str(gt)}])
    MetadataCatalog.get(name).set(
        stuff_classes=["a", "b"], ignore_label=255, evaluator_type="sem_seg"
    )
    ev = build_sem_seg_evaluator(name)
    ev.reset()
    logits = torch.tensor([[[1.0, 0.0], [0.0, 0.0]], [[0.0, 1.0], [1.0, 1.0]]])
    ev.process([{"file_name": "x.png"}], [{"sem_seg": logits}])
    res = ev.evaluate()
    assert res["sem_seg"]["mIoU"] == pytest.approx(50.0)
    assert res["sem_seg"]["pACC"] == pytest.approx(100 * 2 / 3)
    table = format_sem_seg_table(res, ["a", "b"])
    assert (
        "mIoU" in table
        and "50.00" in table
        and table.splitlines()[0].split() == ["class", "IoU", "Acc"]
    )
    save_results_json(res, str(tmp_path / "out/m.json"))
    assert json.loads((tmp_path / "out/m.json").read_text())["sem_seg"]["mIoU"] == pytest.approx(
        50.0
    )
    assert np.isfinite(res["sem_seg"]["fwIoU"])


def test_cityscapes_evaluator_runs_cityscapesscripts(tmp_path):
    """Two fake Cityscapes images (labelIds: 0 void, 7 road, 8 sidewalk). Predictions in trainIds
    (0 road, 1 sidewalk). Worked out by hand over the whole set (void pixels dropped, FP counted
    only where the GT is a non-void class):
      image A (4x8): row 0 void; GT road cols 0-3, sidewalk cols 4-7; prediction road cols 0-5.
      image B (4x8): all road, predicted road.
      road: TP 12 + 32 = 44, FP 6 (sidewalk predicted road), FN 0 -> IoU 44/50
      sidewalk: TP 6, FP 0, FN 6 -> IoU 1/2 ; other classes absent everywhere -> excluded
      mIoU = (0.88 + 0.5) / 2 = 69.0 %; SemSegEvaluator on the trainId maps must agree."""
    gt_a = np.zeros((4, 8), np.uint8)
    gt_a[1:, :4], gt_a[1:, 4:] = 7, 8
    gt_b = np.full((4, 8), 7, np.uint8)
    pred_a = np.zeros((4, 8), np.int64)
    pred_a[:, 6:] = 1
    pred_b = np.zeros((4, 8), np.int64)
    to_train = {0: 255, 7: 0, 8: 1}
    dicts = []
    for city, name, gt in [
        ("aachen", "aachen_000000_000019", gt_a),
        ("bonn", "bonn_000001_000019", gt_b),
    ]:
        (tmp_path / city).mkdir()
        write_label_png(tmp_path / city / f"{name}_gtFine_labelIds.png", gt)
        Image.fromarray(gt.astype(np.uint16)).save(
            tmp_path / city / f"{name}_gtFine_instanceIds.png"
        )
        write_label_png(
            tmp_path / city / f"{name}_gtFine_labelTrainIds.png", np.vectorize(to_train.get)(gt)
        )
        dicts.append(
            {
                "file_name": f"/x/{city}/{name}_leftImg8bit.png",
                "sem_seg_file_name": str(tmp_path / city / f"{name}_gtFine_labelTrainIds.png"),
            }
        )
    classes = MetadataCatalog.get("cityscapes_fine_sem_seg_val").stuff_classes
    for name, evaluator_type in [
        ("test_fake_cs", "cityscapes_sem_seg"),
        ("test_fake_cs_trainid", "sem_seg"),
    ]:
        DatasetCatalog.register(name, lambda: dicts)
        MetadataCatalog.get(name).set(
            stuff_classes=classes,
            ignore_label=255,
            gt_dir=str(tmp_path),
            evaluator_type=evaluator_type,
        )
    results = {}
    for name in ["test_fake_cs", "test_fake_cs_trainid"]:
        ev = build_sem_seg_evaluator(name)
        ev.reset()
        for d, pred in zip(dicts, [pred_a, pred_b]):
            logits = (
                torch.nn.functional.one_hot(torch.from_numpy(pred), 19).permute(2, 0, 1).float()
            )
            ev.process([{"file_name": d["file_name"]}], [{"sem_seg": logits}])
        results[name] = ev.evaluate()["sem_seg"]
    assert results["test_fake_cs"]["IoU"] == pytest.approx(69.0)
    assert results["test_fake_cs_trainid"]["mIoU"] == pytest.approx(69.0)
