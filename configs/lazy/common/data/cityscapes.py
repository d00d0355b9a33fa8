# Cityscapes fine loaders: the twin of
# configs/cityscapes/semantic-segmentation/Base-Cityscapes-SemanticSegmentation.yaml.
from .semantic import dataloader

dataloader.train.dataset.names = "cityscapes_fine_sem_seg_train"
dataloader.train.mapper.augmentations[0].update(
    short_edge_length=(512, 768, 1024, 1280, 1536, 1792, 2048), max_size=4096
)
dataloader.train.mapper.augmentations[1].crop_size = (512, 1024)
dataloader.train.mapper.num_classes = 19
dataloader.train.update(total_batch_size=16, num_workers=10)
dataloader.test.dataset.names = "cityscapes_fine_sem_seg_val"
dataloader.test.mapper.augmentations[0].update(short_edge_length=1024, max_size=2048)
