# pascal_context loaders: the twin of configs/pascal_context/semantic-segmentation/Base-PascalContext59-SemanticSegmentation.yaml.
from .semantic import dataloader

dataloader.train.dataset.names = "pascal_context_59_sem_seg_train"
dataloader.train.mapper.augmentations[0].update(
    short_edge_length=(260, 390, 520, 650, 780, 910, 1040), max_size=4160
)
dataloader.train.mapper.augmentations[1].crop_size = (480, 480)
dataloader.train.mapper.num_classes = 59
dataloader.train.update(total_batch_size=16, num_workers=4)
dataloader.test.dataset.names = "pascal_context_59_sem_seg_val"
dataloader.test.mapper.augmentations[0].update(short_edge_length=520, max_size=2080)
