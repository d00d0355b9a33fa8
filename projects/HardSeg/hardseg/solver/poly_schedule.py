"""The poly learning-rate schedule with linear warmup, as an fvcore ParamScheduler (LazyConfig)."""

from fvcore.common.param_scheduler import ParamScheduler


class WarmupPolyParamScheduler(ParamScheduler):
    """Multiplier ``f(where) = w(where) * (1 - where) ** power`` for ``where = iter / max_iter``,
    with ``w = warmup_factor * (1 - a) + a``, ``a = where / warmup_length`` during warmup and 1
    after. With ``warmup_length = WARMUP_ITERS / MAX_ITER`` this equals detectron2 DeepLab's
    ``WarmupPolyLR`` (linear warmup, constant_ending 0) at every iteration."""

    def __init__(
        self, power: float = 0.9, warmup_length: float = 0.0, warmup_factor: float = 0.001
    ):
        if not 0.0 <= warmup_length < 1.0:
            raise ValueError(f"warmup_length={warmup_length} must be in [0, 1).")
        self.power = power
        self.warmup_length = warmup_length
        self.warmup_factor = warmup_factor

    def __call__(self, where: float) -> float:
        warm = 1.0
        if where < self.warmup_length:
            alpha = where / self.warmup_length
            warm = self.warmup_factor * (1.0 - alpha) + alpha
        return warm * (1.0 - where) ** self.power
