# SupOnly on PASCAL VOC 2012 with U2PL's recipe: the LazyConfig twin of
# configs/voc/semi-supervised/Base-VOC-SemiSup.yaml (docs/methods/u2pl.md). An experiment
# sets dataloader.train.dataset.names, train.max_iter, train.eval_period and train.output_dir.
from detectron2.config import LazyCall as L

from hardseg.solver import make_optimizer, param_groups

from ..data.voc import dataloader
from ..models.deeplabv3plus_u2pl import model
from ..schedule import poly_lr_multiplier as lr_multiplier
from ..train import train

# SGD, momentum 0.9, lr_0 = 0.001 for the backbone and x10 for the rest, weight decay 1e-4 on every
# parameter (docs/methods/u2pl.md §5)
optimizer = L(make_optimizer)(
    params=L(param_groups)(  # .model set at run time
        base_lr="${..lr}",
        weight_decay="${..weight_decay}",
        weight_decay_norm="${..weight_decay}",
        backbone_multiplier=0.1,  # backbone at 0.001 (docs/methods/u2pl.md §5)
    ),
    name="SGD",
    lr=0.01,  # 0.001 x 10 (docs/methods/u2pl.md §5)
    momentum=0.9,  # docs/methods/u2pl.md §5
    weight_decay=1e-4,  # docs/methods/u2pl.md §5
)
lr_multiplier.update(power=0.9, warmup_length=0.0)  # poly 0.9, no warm-up (docs/methods/u2pl.md §5)
train.update(max_iter="???", eval_period="???", seed=0, output_dir="???")
train.checkpointer.period = 5000
