"""Evaluator for a dataset, chosen from its metadata's ``evaluator_type``."""

from detectron2.data import MetadataCatalog
from detectron2.evaluation import CityscapesSemSegEvaluator, SemSegEvaluator

EVALUATORS = {
    "sem_seg": lambda name, out: SemSegEvaluator(name, distributed=True, output_dir=out),
    "cityscapes_sem_seg": lambda name, out: CityscapesSemSegEvaluator(name),
}


def build_sem_seg_evaluator(dataset_name: str, output_dir=None):
    """``sem_seg`` -> detectron2's SemSegEvaluator (mIoU, fwIoU, mACC, pACC, per-class IoU/ACC);
    ``cityscapes_sem_seg`` -> CityscapesSemSegEvaluator (cityscapesscripts: IoU, iIoU)."""
    evaluator_type = MetadataCatalog.get(dataset_name).get("evaluator_type", None)
    if evaluator_type not in EVALUATORS:
        raise ValueError(
            f"dataset {dataset_name!r} has evaluator_type={evaluator_type!r} in its metadata; "
            f"HardSeg evaluates {sorted(EVALUATORS)}. Register the dataset with one of them."
        )
    return EVALUATORS[evaluator_type](dataset_name, output_dir)
