from .optimizer import build_optimizer, make_optimizer, param_groups, with_full_model_clipping
from .poly_schedule import WarmupPolyParamScheduler
