# Twin of the YAML config of the same name in configs/voc/semi-supervised/.
# 10216 unlabeled images at 16 per step (4 GPUs x 4): floor(ceil(10216 / 4) / 4) = 638 iterations
# per epoch, 80 epochs (docs/methods/u2pl.md §5, §6 table).
from ..common.u2pl.voc import (  # noqa: F401
    dataloader,
    lr_multiplier,
    model,
    optimizer,
    train,
)

EPOCH_ITERS = 638  # docs/methods/u2pl.md §6
# 366 labeled / 10216 unlabeled images
dataloader.train.dataset.names = "voc_2012_sem_seg_train_aug_classic_366_labeled"
dataloader.train.unlabeled_dataset.names = "voc_2012_sem_seg_train_aug_classic_366_unlabeled"
model.config.epoch_iters = EPOCH_ITERS
train.max_iter = EPOCH_ITERS * 80  # 51040 (docs/methods/u2pl.md §5, §6)
train.eval_period = EPOCH_ITERS  # every epoch (docs/methods/u2pl.md §7)
train.output_dir = "./output/voc/u2pl_deeplabv3plus_R103_os8_mg124_513_bs16_51k_classic-366"
