# FCN on HRNetV2-W48 for 480x480 crops, 60k iterations: what the COCO-Stuff-10k and
# Pascal-Context-59 leaves share (the official CAC configs): slide inference 480/320, SGD lr 0.04
# with the backbone at x0.1 (the official head lr_mult 10), weight decay 1e-4 and none on norms,
# poly without warm-up, evaluated and checkpointed every 6000 iterations. A leaf imports these
# four objects and its dataloader, sets model.sem_seg_head (its class count) and
# train.output_dir.
from detectron2.config import LazyCall as L

from hardseg.modeling.inference import InferenceConfig
from hardseg.solver import param_groups

from .models.hrnet import model
from .optim import SGD as optimizer
from .schedule import poly_lr_multiplier as lr_multiplier
from .train import train

model.inference = L(InferenceConfig)(mode="slide", crop_size=(480, 480), stride=(320, 320))
# the official head lr_mult 10: backbone 0.004, head (CAC's modules included) 0.04
optimizer.params = L(param_groups)(
    base_lr="${..lr}",
    weight_decay="${..weight_decay}",
    weight_decay_norm=0.0,
    backbone_multiplier=0.1,
)
optimizer.lr = 0.04
optimizer.weight_decay = 1e-4
train.update(max_iter=60000, eval_period=6000)
train.checkpointer.period = 6000
lr_multiplier.warmup_length = 0.0
