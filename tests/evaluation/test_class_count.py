"""The model's class count must match the dataset's: checked when the trainer and the evaluator
are built, and the evaluator never counts an out-of-range prediction in another cell."""

import pytest
import torch

from detectron2.data import DatasetCatalog, MetadataCatalog

from hardseg.engine import Trainer
from hardseg.evaluation import build_sem_seg_evaluator, confusion_matrix
from tests.common import tiny_cfg, write_label_png

KEY = r"MODEL\.SEM_SEG_HEAD\.NUM_CLASSES"


def test_prediction_outside_classes_is_refused_not_aliased():
    # K = 7: prediction 10 on GT 0 used to land at flat index 0 * 7 + 10 = cell (1, 3)
    gt = torch.tensor([[0, 1]], dtype=torch.uint8)
    pred = torch.tensor([[10, 1]])
    with pytest.raises(ValueError, match=r"predicted class ids \[10\] are outside \[0, 7\)"):
        confusion_matrix(pred, gt, 7, 255)
    with pytest.raises(ValueError, match=r"predicted class ids \[-1\]"):
        confusion_matrix(torch.tensor([[-1, 1]]), gt.long(), 7, 255)
    conf = confusion_matrix(torch.tensor([[6, 1]]), gt, 7, 255)  # in range: counted where it is
    assert conf[0, 6] == 1 and conf[1, 1] == 1 and conf.sum() == 2


@pytest.fixture
def tiny_dataset(tmp_path):
    gt = tmp_path / "gt.png"
    write_label_png(gt, [[0, 0], [1, 255]])
    name = "test_class_count_eval"
    DatasetCatalog.register(name, lambda: [{"file_name": "x.png", "sem_seg_file_name": str(gt)}])
    MetadataCatalog.get(name).set(
        stuff_classes=["a", "b"], ignore_label=255, evaluator_type="sem_seg"
    )
    yield name
    DatasetCatalog.remove(name)
    MetadataCatalog.remove(name)


def test_evaluator_refuses_model_with_other_class_count(tiny_dataset):
    with pytest.raises(ValueError, match=rf"{KEY}=5 but dataset 'test_class_count_eval' has 2"):
        build_sem_seg_evaluator(tiny_dataset, num_classes=5)
    ev = build_sem_seg_evaluator(tiny_dataset, num_classes=2)
    ev.reset()
    logits = torch.zeros(5, 2, 2)
    logits[4] = 1.0  # class 4 everywhere: aliased into the 2x2 matrix before
    with pytest.raises(ValueError, match=rf"outputs 5 class scores but dataset .* has 2.*{KEY} 2"):
        ev.process([{"file_name": "x.png"}], [{"sem_seg": logits}])


def test_trainer_and_its_evaluator_refuse_mismatch():
    cfg = tiny_cfg("MODEL.SEM_SEG_HEAD.NUM_CLASSES", 10)  # hardshapes has 7 classes
    with pytest.raises(ValueError, match=rf"{KEY}=10 but dataset 'hardshapes_sem_seg_train' has 7"):
        Trainer(cfg)
    name = cfg.DATASETS.TEST[0]
    with pytest.raises(ValueError, match=rf"{KEY}=10 but dataset '{name}' has 7"):
        Trainer.build_evaluator(cfg, name)
