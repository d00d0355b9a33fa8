# mmseg's Cityscapes 769x769 40k schedule (configs/_base_/schedules/schedule_40k.py: SGD lr 0.01,
# poly 0.9, weight decay 5e-4 also on norm layers, batch 8, no warm-up), evaluated and
# checkpointed every 4000 iterations. A leaf imports these four objects, its model, and sets
# train.output_dir.
from .data.cityscapes_769 import dataloader
from .optim import SGD as optimizer
from .schedule import poly_lr_multiplier as lr_multiplier
from .train import train

optimizer.lr = 0.01
optimizer.weight_decay = 5e-4
optimizer.params.weight_decay_norm = 5e-4
train.update(max_iter=40000, eval_period=4000, seed=0)
train.checkpointer.period = 4000
lr_multiplier.warmup_length = 0.0
