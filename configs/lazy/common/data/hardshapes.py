# hardshapes loaders: the twin of configs/hardshapes/Base-HardShapes-SemanticSegmentation.yaml.
from .semantic import dataloader

dataloader.train.dataset.names = "hardshapes_sem_seg_train"
dataloader.train.mapper.augmentations[0].update(
    short_edge_length=(96, 112, 128, 144, 160), max_size=640
)
dataloader.train.mapper.augmentations[1].crop_size = (128, 128)
dataloader.train.mapper.num_classes = 7
dataloader.train.update(total_batch_size=8, num_workers=2, aspect_ratio_grouping=False)
dataloader.test.dataset.names = "hardshapes_sem_seg_val"
dataloader.test.mapper.augmentations[0].update(short_edge_length=128, max_size=640)
dataloader.test.num_workers = 2
