# PASCAL VOC 2012 loaders with U2PL's recipe: the twin of the data part of
# configs/voc/semi-supervised/Base-VOC-SemiSup.yaml (see it for the approximation of the random
# rescale). The training split is left to the experiment.
from detectron2.config import LazyCall as L

from hardseg.data.transforms import CenterPadToSize, SplitRandomScale

from .semantic import dataloader

dataloader.train.dataset.update(names="???", filter_empty=False)
# The official rescale, s ~ U[0.5, 1] or U[1, 2] with probability 1/2 each, and the official
# centred padding of crops smaller than 513x513 (image 0, label 0) (docs/methods/u2pl.md §6, §13.3)
_resize, _crop, _flip = dataloader.train.mapper.augmentations
dataloader.train.mapper.augmentations = [
    L(SplitRandomScale)(scale_range=(0.5, 2.0)),
    L(CenterPadToSize)(size=(513, 513), pad_value=0, label_pad_value=0),
    _crop,
    _flip,
]
dataloader.train.mapper.augmentations[2].update(
    crop_size=(513, 513), single_category_max_area=1.0  # docs/methods/u2pl.md §6
)
dataloader.train.mapper.num_classes = 21
# 16 labeled images per step: 4 GPUs x 4 (docs/methods/u2pl.md §6)
dataloader.train.update(total_batch_size=16, num_workers=4, aspect_ratio_grouping=False)
dataloader.test.dataset.names = "voc_2012_sem_seg_val"  # 1449 images (docs/methods/u2pl.md §6)
dataloader.test.mapper.augmentations[0].update(short_edge_length=0, max_size=1000)  # no resize
