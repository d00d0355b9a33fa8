"""The model's class count must equal the dataset's.

A head with more outputs than the dataset has classes trains without complaint (the extra logits
never see a target) and predicts ids the evaluator has no row or column for; fewer outputs fail
late, inside a loss. Both are caught here, when the trainer or the evaluator is built, from the
metadata's ``stuff_classes`` (which registering sets, without loading the dataset).
"""

from typing import Iterable

from detectron2.data import MetadataCatalog

__all__ = ["NUM_CLASSES_KEY", "check_num_classes", "check_cfg_num_classes"]

# Every HardSeg model (per-pixel heads, U2PL, MaskFormer / Mask2Former) reads its class count here.
NUM_CLASSES_KEY = "MODEL.SEM_SEG_HEAD.NUM_CLASSES"


def check_num_classes(num_classes: int, dataset_names: Iterable[str], key=NUM_CLASSES_KEY):
    """Raise ValueError if a dataset's metadata ``stuff_classes`` does not have ``num_classes``
    entries, naming the key, both numbers and the dataset. Datasets whose metadata has no
    ``stuff_classes`` are not checked."""
    for name in dataset_names:
        classes = MetadataCatalog.get(name).get("stuff_classes", None)
        if classes is not None and len(classes) != int(num_classes):
            raise ValueError(
                f"{key}={num_classes} but dataset {name!r} has {len(classes)} classes "
                f"(metadata stuff_classes: {list(classes)[:5]}{'...' if len(classes) > 5 else ''})."
                f" Set {key} {len(classes)}, or use a dataset with {num_classes} classes."
            )


def check_cfg_num_classes(cfg) -> None:
    """:func:`check_num_classes` for the config's model and every dataset of
    ``DATASETS.TRAIN``, ``DATASETS.TRAIN_UNLABELED`` and ``DATASETS.TEST``."""
    names = list(cfg.DATASETS.TRAIN) + list(cfg.DATASETS.get("TRAIN_UNLABELED", ()))
    check_num_classes(cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES, names + list(cfg.DATASETS.TEST))
