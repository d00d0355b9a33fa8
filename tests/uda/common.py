"""Helpers of the HIAST tests: a 16-image target set and the tiny chain configs."""

from detectron2.data import DatasetCatalog, MetadataCatalog

SOURCE = "hardshapes/uda/deeplabv2_R18_source_only_tiny.yaml"
WARMUP = "hardshapes/uda/adaptsegnet_deeplabv2_R18_warmup_tiny.yaml"
ROUND = "hardshapes/uda/hiast_deeplabv2_R18_round_tiny.yaml"
TINY_TARGET = "hardshapes_shifted_sem_seg_train_first16"


def register_tiny_target() -> str:
    """The first 16 images of hardshapes_shifted's train split, registered once."""
    if TINY_TARGET not in DatasetCatalog.list():
        full = "hardshapes_shifted_sem_seg_train"
        DatasetCatalog.register(TINY_TARGET, lambda: DatasetCatalog.get(full)[:16])
        meta = MetadataCatalog.get(full).as_dict()
        meta.pop("name")
        MetadataCatalog.get(TINY_TARGET).set(**meta)
    return TINY_TARGET
