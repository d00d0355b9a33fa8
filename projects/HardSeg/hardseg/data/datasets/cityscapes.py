"""Cityscapes fine semantic segmentation: detectron2's builtin registrations
(``cityscapes_fine_sem_seg_{train,val,test}``, evaluator ``cityscapes_sem_seg``) with a loader that
explains a missing dataset instead of failing deep inside detectron2."""

from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.data.datasets.cityscapes import load_cityscapes_semantic

from .checks import require_dirs

CITYSCAPES_TREE = """\
  cityscapes/
    gtFine/{train,val,test}/<city>/*_gtFine_{labelIds,labelTrainIds,polygons}.{png,json}
    leftImg8bit/{train,val,test}/<city>/*_leftImg8bit.png"""
CITYSCAPES_HOW_TO = (
    "Download gtFine_trainvaltest.zip and leftImg8bit_trainvaltest.zip from the Cityscapes "
    "website, unzip them into $DETECTRON2_DATASETS/cityscapes, then create the trainId labels with "
    "cityscapesscripts: CITYSCAPES_DATASET=$DETECTRON2_DATASETS/cityscapes csCreateTrainIdLabelImgs "
    "(see datasets/README.md)."
)


def _checked_loader(name, image_dir, gt_dir):
    def load():
        require_dirs(name, [image_dir, gt_dir], CITYSCAPES_TREE, CITYSCAPES_HOW_TO)
        return load_cityscapes_semantic(image_dir, gt_dir)

    return load


def register_cityscapes_sem_seg_checks():
    """Re-register detectron2's Cityscapes semantic splits with the checking loader (metadata and
    names unchanged)."""
    for split in ("train", "val", "test"):
        name = f"cityscapes_fine_sem_seg_{split}"
        meta = MetadataCatalog.get(name)
        image_dir, gt_dir = meta.image_dir, meta.gt_dir
        if name in DatasetCatalog.list():
            DatasetCatalog.remove(name)
        DatasetCatalog.register(name, _checked_loader(name, image_dir, gt_dir))


register_cityscapes_sem_seg_checks()
