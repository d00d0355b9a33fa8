import json

import numpy as np
import pytest
import torch

from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.evaluation import CityscapesSemSegEvaluator, SemSegEvaluator

from hardseg.evaluation import build_sem_seg_evaluator, format_sem_seg_table, save_results_json
from tests.common import write_label_png


def test_evaluator_follows_metadata():
    assert isinstance(build_sem_seg_evaluator("hardshapes_sem_seg_val"), SemSegEvaluator)
    assert isinstance(build_sem_seg_evaluator("cityscapes_fine_sem_seg_val"),
                      CityscapesSemSegEvaluator)
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
    MetadataCatalog.get(name).set(stuff_classes=["a", "b"], ignore_label=255, evaluator_type="sem_seg")
    ev = build_sem_seg_evaluator(name)
    ev.reset()
    logits = torch.tensor([[[1.0, 0.0], [0.0, 0.0]], [[0.0, 1.0], [1.0, 1.0]]])
    ev.process([{"file_name": "x.png"}], [{"sem_seg": logits}])
    res = ev.evaluate()
    assert res["sem_seg"]["mIoU"] == pytest.approx(50.0)
    assert res["sem_seg"]["pACC"] == pytest.approx(100 * 2 / 3)
    table = format_sem_seg_table(res, ["a", "b"])
    assert "mIoU" in table and "50.00" in table and table.splitlines()[0].split() == ["class", "IoU", "Acc"]
    save_results_json(res, str(tmp_path / "out/m.json"))
    assert json.loads((tmp_path / "out/m.json").read_text())["sem_seg"]["mIoU"] == pytest.approx(50.0)
    assert np.isfinite(res["sem_seg"]["fwIoU"])
