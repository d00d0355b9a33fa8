# SupOnly on Cityscapes with U2PL's recipe: the LazyConfig twin of
# configs/cityscapes/semi-supervised/Base-Cityscapes-SemiSup.yaml (docs/methods/u2pl.md). An
# experiment sets dataloader.train.dataset.names, train.max_iter and train.output_dir.
from detectron2.config import LazyCall as L

from hardseg.modeling import FCNHead
from hardseg.modeling.inference import InferenceConfig

from ..data.cityscapes_u2pl import dataloader
from ..models.deeplabv3plus_u2pl import model
from ..optim import SGD as optimizer
from ..schedule import poly_lr_multiplier as lr_multiplier
from ..train import train

# OHEM cross entropy: thresh 0.7, min_kept 100000 per GPU batch, mean over kept pixels
# (docs/methods/u2pl.md §4.1)
OHEM = [
    dict(
        name="ohem_cross_entropy",
        weight=1.0,
        options=dict(thresh=0.7, min_kept=100000, min_kept_per_image=False, normalize="kept"),
    )
]

model.backbone.out_features = ["res2", "res4", "res5"]
model.sem_seg_head.update(num_classes=19, loss_type=OHEM)
# Conv3x3 1024->256 + BN + ReLU + Dropout2d(0.1) + Conv1x1 on res4, weight 0.4
# (docs/methods/u2pl.md §2, §4.1)
model.aux_head = L(FCNHead)(
    input_shape={"res4": dict(channels=1024, stride=8)},
    num_classes=19,
    in_feature="res4",
    channels=256,  # docs/methods/u2pl.md §2
    num_convs=1,
    concat_input=False,
    dropout=0.1,  # docs/methods/u2pl.md §2
    norm="SyncBN",
    align_corners=True,  # the decode head's (docs/methods/u2pl.md §13.3)
    loss_type=OHEM,  # docs/methods/u2pl.md §4.1
    loss_weight=0.4,  # docs/methods/u2pl.md §4.1
    ignore_value=255,
)
# full 1024x2048 image, sliding 769x769 windows at stride 513 (docs/methods/u2pl.md §7)
model.inference = L(InferenceConfig)(mode="slide", crop_size=(769, 769), stride=(513, 513))

# SGD, momentum 0.9, lr_0 = 0.01 and weight decay 5e-4 for every parameter (docs/methods/u2pl.md §5)
optimizer.lr = 0.01  # docs/methods/u2pl.md §5
optimizer.momentum = 0.9  # docs/methods/u2pl.md §5
optimizer.weight_decay = 5e-4  # docs/methods/u2pl.md §5
optimizer.params.weight_decay_norm = 5e-4
lr_multiplier.update(power=0.9, warmup_length=0.0)  # poly 0.9, no warm-up (docs/methods/u2pl.md §5)
# eval_period 0: evaluate the last checkpoint (see the YAML twin)
train.update(max_iter="???", eval_period=0, seed=0, output_dir="???")
train.checkpointer.period = 2000
