# Twin of the YAML config of the same name in configs/cityscapes/semi-supervised/.
# 1487 unlabeled images at 16 per step (8 GPUs x 2): floor(ceil(1487 / 8) / 2) = 93 iterations per
# epoch, 200 epochs (docs/methods/u2pl.md §5, §6 table).
from ..common.u2pl.cityscapes import (  # noqa: F401
    dataloader,
    lr_multiplier,
    model,
    optimizer,
    train,
)

EPOCH_ITERS = 93  # docs/methods/u2pl.md §6
# 1488 labeled / 1487 unlabeled images
dataloader.train.dataset.names = "cityscapes_sem_seg_train_1-2_labeled"
dataloader.train.unlabeled_dataset.names = "cityscapes_sem_seg_train_1-2_unlabeled"
model.config.epoch_iters = EPOCH_ITERS
train.max_iter = EPOCH_ITERS * 200  # 18600 (docs/methods/u2pl.md §5, §6)
train.output_dir = "./output/cityscapes/u2pl_deeplabv3plus_R103_os8_mg124_769_bs16_19k_1-2"
