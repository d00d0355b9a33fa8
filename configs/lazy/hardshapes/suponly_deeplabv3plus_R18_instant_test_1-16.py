# Twin of configs/hardshapes/suponly_deeplabv3plus_R18_instant_test_1-16.yaml: the instant-test
# DeepLabV3+ trained on the labeled images of hardshapes 1/16 only.
from ..quick_schedules.deeplabv3plus_R18_instant_test import (  # noqa: F401
    dataloader,
    lr_multiplier,
    model,
    optimizer,
    train,
)

dataloader.train.dataset.update(names="hardshapes_sem_seg_train_1-16_labeled", filter_empty=False)
dataloader.train.total_batch_size = 2
train.output_dir = "./output/hardshapes/suponly_deeplabv3plus_R18_instant_test_1-16"
