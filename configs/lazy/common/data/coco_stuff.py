# coco_stuff loaders: the twin of configs/coco_stuff/semantic-segmentation/Base-COCOStuff10k-SemanticSegmentation.yaml.
from .semantic import dataloader

dataloader.train.dataset.names = "coco_2017_train_stuff_10k_sem_seg"
dataloader.train.mapper.augmentations[0].update(
    short_edge_length=(260, 390, 520, 650, 780, 910, 1040), max_size=4160
)
dataloader.train.mapper.augmentations[1].crop_size = (480, 480)
dataloader.train.mapper.num_classes = 171
dataloader.train.update(total_batch_size=16, num_workers=4)
dataloader.test.dataset.names = "coco_2017_test_stuff_10k_sem_seg"
dataloader.test.mapper.augmentations[0].update(short_edge_length=520, max_size=2080)
