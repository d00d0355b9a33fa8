# U2PL on PASCAL VOC 2012: the LazyConfig twin of configs/voc/semi-supervised/Base-VOC-U2PL.yaml,
# i.e. the SupOnly recipe of voc_suponly.py as student and teacher, plus the unlabeled stream. An
# experiment sets dataloader.train.{dataset,unlabeled_dataset}.names, model.config.epoch_iters,
# train.max_iter, train.eval_period and train.output_dir.
from ..data.semisup import two_stream_loader
from ..models.u2pl import u2pl_model
from .voc_suponly import dataloader, lr_multiplier, optimizer, train  # noqa: F401
from .voc_suponly import model as segmentor

model = u2pl_model(
    segmentor,
    num_classes=21,
    embed_in_channels=256 + 256,  # projected res2 + ASPP (docs/methods/u2pl.md §2)
    sup_only_epochs=1,  # VOC: the code default (docs/methods/u2pl.md §5)
)
# 16 labeled + 16 unlabeled images per step (docs/methods/u2pl.md §6)
dataloader.train = two_stream_loader(dataloader.train, total_batch_size_unlabeled=16)
