# mmseg's Cityscapes 512x1024 80k schedule (configs/_base_/schedules/schedule_80k.py: SGD lr 0.01,
# poly 0.9, weight decay 5e-4, batch 8, no warm-up), evaluated and checkpointed every 8000
# iterations. A leaf imports these four objects, its model, and sets train.output_dir.
from .data.cityscapes import dataloader
from .optim import SGD as optimizer
from .schedule import poly_lr_multiplier as lr_multiplier
from .train import train

dataloader.train.total_batch_size = 8
optimizer.lr = 0.01
optimizer.weight_decay = 5e-4
train.update(max_iter=80000, eval_period=8000, seed=0)
train.checkpointer.period = 8000
lr_multiplier.warmup_length = 0.0
