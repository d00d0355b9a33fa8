# Poly LR (power 0.9) with linear warmup: the LazyConfig twin of SOLVER.LR_SCHEDULER_NAME
# "WarmupPolyLR". Set warmup_length = WARMUP_ITERS / max_iter.
from detectron2.config import LazyCall as L

from hardseg.solver import WarmupPolyParamScheduler

poly_lr_multiplier = L(WarmupPolyParamScheduler)(power=0.9, warmup_length=0.0, warmup_factor=0.001)
