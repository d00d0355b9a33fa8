"""Evaluator for a dataset, chosen from its metadata's ``evaluator_type``."""

from detectron2.data import MetadataCatalog
from detectron2.evaluation import CityscapesSemSegEvaluator

from .class_count import check_num_classes
from .sem_seg_evaluator import HardSegSemSegEvaluator

EVALUATORS = {
    "sem_seg": lambda name, out, conv, preds: HardSegSemSegEvaluator(
        name, distributed=True, output_dir=out, miou_convention=conv, write_predictions=preds
    ),
    "cityscapes_sem_seg": lambda name, out, conv, preds: CityscapesSemSegEvaluator(name),
}


def build_sem_seg_evaluator(
    dataset_name: str,
    output_dir=None,
    miou_convention="cityscapes",
    difficulty_bins=(),
    num_classes=None,
    write_predictions=False,
):
    """``sem_seg`` -> :class:`HardSegSemSegEvaluator` (mIoU, fwIoU, mACC, pACC, per-class IoU/ACC,
    detectron2's keys; ``miou_convention`` = ``TEST.MIOU_CONVENTION``, metadata ``eval_classes``);
    ``cityscapes_sem_seg`` -> detectron2's CityscapesSemSegEvaluator (cityscapesscripts: IoU,
    iIoU). ``num_classes`` (the model's ``MODEL.SEM_SEG_HEAD.NUM_CLASSES``), when given, must
    equal the dataset's class count (ValueError otherwise). ``write_predictions``
    (``TEST.SAVE_PREDICTIONS_JSON``): also write ``sem_seg_predictions.json`` (RLE of every class
    of every image) to ``output_dir``; off by default, it costs more than the evaluation itself."""
    if num_classes is not None:
        check_num_classes(num_classes, [dataset_name])
    evaluator_type = MetadataCatalog.get(dataset_name).get("evaluator_type", None)
    if evaluator_type not in EVALUATORS:
        raise ValueError(
            f"dataset {dataset_name!r} has evaluator_type={evaluator_type!r} in its metadata; "
            f"HardSeg evaluates {sorted(EVALUATORS)}. Register the dataset with one of them."
        )
    evaluator = EVALUATORS[evaluator_type](
        dataset_name, output_dir, miou_convention, write_predictions
    )
    if difficulty_bins:  # TEST.DIFFICULTY_BINS: also IoU/accuracy by distance to GT boundaries
        from detectron2.evaluation import DatasetEvaluators

        from .difficulty import DifficultyEvaluator

        extra = DifficultyEvaluator(dataset_name, difficulty_bins, output_dir)
        return DatasetEvaluators([evaluator, extra])
    return evaluator
