# Cityscapes fine loaders with U2PL's recipe: the twin of the data part of
# configs/cityscapes/semi-supervised/Base-Cityscapes-SemiSup.yaml. The training split is left to
# the experiment.
from .cityscapes import dataloader

dataloader.train.dataset.update(names="???", filter_empty=False)
# s in [0.5, 2.0] of the 1024x2048 images (docs/methods/u2pl.md §6): short edge 512..2048
dataloader.train.mapper.augmentations[0].update(
    short_edge_length=(512, 2048), max_size=4096, sample_style="range"
)
dataloader.train.mapper.augmentations[1].update(
    crop_size=(769, 769), single_category_max_area=1.0  # docs/methods/u2pl.md §6
)
# 16 labeled images per step: 8 GPUs x 2 (docs/methods/u2pl.md §6)
dataloader.train.update(total_batch_size=16, num_workers=4, aspect_ratio_grouping=False)
