# ADE20K loaders: the twin of configs/ade20k/semantic-segmentation/Base-ADE20K-SemanticSegmentation.yaml.
from .semantic import dataloader

dataloader.train.dataset.names = "ade20k_sem_seg_train"
dataloader.train.mapper.augmentations[0].update(
    # int(x * 0.1 * 512) for x in 5..20
    short_edge_length=[int(x * 0.1 * 512) for x in range(5, 21)],
    max_size=2048,
)
dataloader.train.mapper.augmentations[1].crop_size = (512, 512)
dataloader.train.mapper.num_classes = 150
dataloader.train.update(total_batch_size=16, num_workers=4)
dataloader.test.dataset.names = "ade20k_sem_seg_val"
dataloader.test.mapper.augmentations[0].update(short_edge_length=512, max_size=2048)
