# Cityscapes fine loaders with the HL paper's recipe: the twin of
# configs/cityscapes/semantic-segmentation/Base-Cityscapes-769-SemanticSegmentation.yaml
# (short edge 512..2050, 769x769 crops with at most 75% of one class, flip, batch 8).
from .cityscapes import dataloader

dataloader.train.mapper.augmentations[0].update(
    short_edge_length=(512, 2050), max_size=4100, sample_style="range"
)
dataloader.train.mapper.augmentations[1].update(crop_size=(769, 769), single_category_max_area=0.75)
dataloader.train.total_batch_size = 8
