"""CAC's settings in one frozen dataclass: the defaults live here, ``from_config`` maps the
``MODEL.CAC.*`` keys onto it (their meaning and official values: ``hardseg/config/cac.py``).

Both CAC users take it: :class:`ConfidenceAwareContrastiveHead` (per-pixel heads) and
:class:`hardseg.modeling.mask_former.MaskCACBranch` (mask classification, docs/methods/cac.md §8).
"""

from dataclasses import asdict, dataclass, replace
from typing import Any, Dict, Optional

from ..losses.cac import CLASS_MEAN_MODES

__all__ = ["CACOptions"]

# The fields that go to ``cac_loss`` as keyword arguments (docs/methods/cac.md §4).
_LOSS_FIELDS = (
    "max_sample",
    "threshold",
    "temperature",
    "base_temperature",
    "hard_sort",
    "easy_sort",
    "class_mean",
)


@dataclass(frozen=True)
class CACOptions:
    """The projection head, weight branch, loss weights, warm-up and sampling of CAC.

    ``loss_weight`` is alpha (of ``loss_cac``), ``weight_loss_weight`` beta (of
    ``loss_sem_seg_weight``); alpha is 0 while the training iteration is below ``warmup_iters``.
    The defaults are the official Cityscapes FCN-HRNetV2-W48 values.
    """

    proj_channels: int = 256
    weight_kernel_size: int = 1
    loss_weight: float = 0.4
    weight_loss_weight: float = 1.5
    warmup_iters: int = 0
    max_sample: int = 1024
    threshold: int = 100
    temperature: float = 0.1
    base_temperature: float = 0.07
    hard_sort: bool = True
    easy_sort: bool = True
    class_mean: str = "all_slots"

    def __post_init__(self):
        if self.class_mean not in CLASS_MEAN_MODES:
            raise ValueError(
                f"MODEL.CAC.CLASS_MEAN={self.class_mean!r}; choose one of {CLASS_MEAN_MODES}."
            )
        if self.warmup_iters < 0:
            raise ValueError(f"MODEL.CAC.WARMUP_ITERS must be >= 0, got {self.warmup_iters}.")

    @classmethod
    def from_config(cls, cfg) -> "CACOptions":
        c = cfg.MODEL.CAC
        return cls(
            proj_channels=c.PROJ_CHANNELS,
            weight_kernel_size=c.WEIGHT_KERNEL_SIZE,
            loss_weight=c.LOSS_WEIGHT,
            weight_loss_weight=c.WEIGHT_LOSS_WEIGHT,
            warmup_iters=c.WARMUP_ITERS,
            max_sample=c.MAX_SAMPLE,
            threshold=c.THRESHOLD,
            temperature=c.TEMPERATURE,
            base_temperature=c.BASE_TEMPERATURE,
            hard_sort=c.HARD_SORT,
            easy_sort=c.EASY_SORT,
            class_mean=c.CLASS_MEAN,
        )

    @classmethod
    def resolve(cls, options: Optional["CACOptions"] = None, **overrides) -> "CACOptions":
        """``options`` (the defaults when None) with the fields named in ``overrides`` replaced;
        a name that is no field raises TypeError."""
        return replace(options if options is not None else cls(), **overrides)

    def loss_kwargs(self) -> Dict[str, Any]:
        """The keyword arguments of ``cac_loss`` (all but ``ignore_value``)."""
        return {k: v for k, v in asdict(self).items() if k in _LOSS_FIELDS}
