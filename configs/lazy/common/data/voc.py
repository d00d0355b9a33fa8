# PASCAL VOC 2012 loaders with U2PL's recipe: the twin of the data part of
# configs/voc/semi-supervised/Base-VOC-SemiSup.yaml (see it for the approximation of the random
# rescale). The training split is left to the experiment.
from .semantic import dataloader

dataloader.train.dataset.update(names="???", filter_empty=False)
# s in [0.5, 2.0] (docs/methods/u2pl.md §6) as short edge 0.5 x 375 .. 2 x 375, capped at
# 2 x 500 on the long side
dataloader.train.mapper.augmentations[0].update(
    short_edge_length=(188, 750), max_size=1000, sample_style="range"
)
dataloader.train.mapper.augmentations[1].update(
    crop_size=(513, 513), single_category_max_area=1.0  # docs/methods/u2pl.md §6
)
dataloader.train.mapper.num_classes = 21
# 16 labeled images per step: 4 GPUs x 4 (docs/methods/u2pl.md §6)
dataloader.train.update(total_batch_size=16, num_workers=4, aspect_ratio_grouping=False)
dataloader.test.dataset.names = "voc_2012_sem_seg_val"  # 1449 images (docs/methods/u2pl.md §6)
dataloader.test.mapper.augmentations[0].update(short_edge_length=0, max_size=1000)  # no resize
