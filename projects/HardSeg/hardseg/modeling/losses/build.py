"""Registry of the losses a per-pixel head can be trained with, and their weighted sums.

A head's loss is configured by ``MODEL.SEM_SEG_HEAD.LOSS_TYPE`` (one loss) or
``MODEL.SEM_SEG_HEAD.LOSSES`` + ``LOSS_WEIGHTS`` (a weighted sum, one loss key per term), with the
options of each loss under ``MODEL.SEM_SEG_LOSS.<NAME>`` (see ``hardseg/config/losses.py``).
"""

from typing import Dict, List, Optional, Sequence, Union

import torch
from torch import nn

from detectron2.projects.deeplab.loss import DeepLabCE
from detectron2.utils.registry import Registry

from ...config.losses import loss_names_from_config
from ...data.targets import register_loss_targets, targets_for_losses
from .cross_entropy import (
    DistancePenalizedCrossEntropy,
    OhemCrossEntropy,
    PixelCrossEntropy,
    SoftmaxFocalLoss,
)
from .distance import BoundaryLoss, GDLBoundaryLoss, HausdorffDTLoss
from .lovasz import LovaszSoftmaxLoss
from .region import (
    CEDiceLoss,
    ComboLoss,
    DiceLoss,
    ExpLogLoss,
    FocalTverskyLoss,
    GeneralizedDiceLoss,
    SoftIoULoss,
    TverskyLoss,
)

__all__ = [
    "SEM_SEG_LOSS_REGISTRY",
    "build_sem_seg_loss",
    "loss_spec_from_config",
    "loss_required_inputs",
    "register_sem_seg_loss",
    "check_pixel_form",
    "select_loss_inputs",
    "NoPixelFormError",
    "WeightedSumLoss",
]


SEM_SEG_LOSS_REGISTRY = Registry("SEM_SEG_LOSS")
SEM_SEG_LOSS_REGISTRY.__doc__ = """
Losses for per-pixel heads, by the name used in ``LOSS_TYPE`` / ``LOSSES``. An entry is called as
``entry(ignore_value=..., **options)`` and returns a module
``loss(logits (N, K, H, W), targets (N, H, W), **inputs) -> scalar``, where ``inputs`` are the
extra per-sample maps named in the module's ``required_inputs`` (e.g. ``signed_dist``). Losses
that have a per-pixel form also define ``pixel_loss(logits, targets, **inputs) -> (N, H, W)``
(HL re-weights that map). An entry's ``loss_class`` attribute is the class it builds (None when
it is not a HardSeg class).
"""


def register_sem_seg_loss(name: str, cls):
    """Register the loss class ``cls`` under ``name`` (fvcore's registry keys functions by
    ``__name__``), and tell the data mapper which distance maps it needs
    (``cls.required_inputs``)."""

    def build(ignore_value: int, **options):
        return cls(ignore_value=ignore_value, **options)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = f"Build :class:`{cls.__name__}` ({name!r})."
    build.loss_class = cls
    SEM_SEG_LOSS_REGISTRY.register(build)
    register_loss_targets(name, tuple(getattr(cls, "required_inputs", ())))


@SEM_SEG_LOSS_REGISTRY.register()
def hard_pixel_mining(ignore_value, top_k_percent_pixels: float = 0.2):
    # DeepLab's online bootstrapping: the top 20% hardest pixels (detectron2.projects.deeplab).
    # The top-k count includes ignored pixels (their loss is 0); no per-pixel form.
    return DeepLabCE(ignore_label=ignore_value, top_k_percent_pixels=top_k_percent_pixels)


hard_pixel_mining.loss_class = None

for _name, _cls in [
    ("cross_entropy", PixelCrossEntropy),
    ("ohem_cross_entropy", OhemCrossEntropy),
    ("focal", SoftmaxFocalLoss),
    ("dist_penalty_cross_entropy", DistancePenalizedCrossEntropy),
    ("dice", DiceLoss),
    ("generalized_dice", GeneralizedDiceLoss),
    ("soft_iou", SoftIoULoss),
    ("tversky", TverskyLoss),
    ("focal_tversky", FocalTverskyLoss),
    ("lovasz_softmax", LovaszSoftmaxLoss),
    ("boundary", BoundaryLoss),
    ("gdl_boundary", GDLBoundaryLoss),
    ("hausdorff_dt", HausdorffDTLoss),
    ("ce_dice", CEDiceLoss),
    ("combo", ComboLoss),
    ("exp_log", ExpLogLoss),
]:
    register_sem_seg_loss(_name, _cls)


def registered_losses() -> List[str]:
    return sorted(k for k, _ in SEM_SEG_LOSS_REGISTRY)


def _check_name(name: str, key: str):
    if name not in SEM_SEG_LOSS_REGISTRY:
        raise ValueError(
            f"{key}={name!r} is not a registered loss; choose one of {registered_losses()}."
        )


def loss_required_inputs(loss: nn.Module) -> tuple:
    """Names of the extra inputs (distance maps) ``loss`` needs, e.g. ``("signed_dist",)``."""
    if isinstance(loss, WeightedSumLoss):
        names = []
        for _, _, term in loss.terms:
            names += [n for n in loss_required_inputs(term) if n not in names]
        return tuple(names)
    return tuple(getattr(loss, "required_inputs", ()))


class NoPixelFormError(TypeError, ValueError):
    """A loss (or a term of a weighted sum) has no per-pixel form. A TypeError when a head is
    asked for its per-pixel loss, a ValueError when a wrapper (HL) is configured with it."""


def losses_without_pixel_form(loss: nn.Module, loss_type=None) -> List[str]:
    """Names of the terms of ``loss`` that have no ``pixel_loss`` ([] when all have one);
    ``loss_type`` (a name or a spec list) names a single loss."""
    if isinstance(loss, WeightedSumLoss):
        return [n for n, m in zip(loss.names, loss.modules_) if not hasattr(m, "pixel_loss")]
    if hasattr(loss, "pixel_loss"):
        return []
    if isinstance(loss_type, str):
        return [loss_type]
    if loss_type:
        return [t["name"] for t in loss_type]
    return [type(loss).__name__]


def check_pixel_form(loss: nn.Module, loss_type=None) -> None:
    """Raise :class:`NoPixelFormError` naming the terms of ``loss`` without a per-pixel form."""
    no_form = losses_without_pixel_form(loss, loss_type)
    if no_form:
        raise NoPixelFormError(
            f"MODEL.SEM_SEG_HEAD.LOSS_TYPE/LOSSES={_spec_names(loss_type)!r}: {no_form} have no "
            "per-pixel form; use losses that define pixel_loss (e.g. 'cross_entropy', 'focal', "
            "'ohem_cross_entropy')."
        )


def select_loss_inputs(loss: nn.Module, inputs: Optional[Dict[str, torch.Tensor]]):
    """The extra maps ``loss`` needs (its ``required_inputs``), taken from ``inputs``.

    Raises:
        ValueError: naming the maps that ``inputs`` lacks.
    """
    inputs = inputs or {}
    needed = loss_required_inputs(loss)
    missing = [n for n in needed if n not in inputs]
    if missing:
        raise ValueError(
            f"{type(loss).__name__} needs {missing} (N, ...) in loss_inputs: the training mapper "
            "(SemanticDatasetMapper) computes these maps when the configured losses need them, "
            "and the meta-architecture passes them to head.losses(..., loss_inputs=...)."
        )
    return {n: inputs[n] for n in needed}


def _spec_names(loss_type):
    if loss_type is None or isinstance(loss_type, str):
        return loss_type
    return [t["name"] for t in loss_type]


def _call(loss: nn.Module, method: str, logits, targets, inputs: Dict[str, torch.Tensor]):
    return getattr(loss, method)(logits, targets, **select_loss_inputs(loss, inputs))


class WeightedSumLoss(nn.Module):
    """``sum_k lambda_k L_k`` over named terms.

    :meth:`forward` returns ``{name: lambda_k * L_k}`` (one loss key per term). :meth:`pixel_loss`
    returns ``sum_k lambda_k pixel_loss_k`` (N, H, W) and exists only if every term has a
    per-pixel form (TypeError otherwise).
    """

    def __init__(self, terms: Sequence):
        """terms: ``[(name, weight, module), ...]``; names must be unique."""
        super().__init__()
        names = [t[0] for t in terms]
        if len(set(names)) != len(names):
            raise ValueError(f"loss names must be unique, got {names}.")
        self.names = names
        self.weights = [float(t[1]) for t in terms]
        self.modules_ = nn.ModuleList([t[2] for t in terms])

    @property
    def terms(self):
        return list(zip(self.names, self.weights, self.modules_))

    @property
    def has_pixel_loss(self) -> bool:
        return not losses_without_pixel_form(self)

    def without_pixel_form(self) -> List[str]:
        return losses_without_pixel_form(self)

    def forward(self, logits, targets, **inputs) -> Dict[str, torch.Tensor]:
        return {n: w * _call(m, "forward", logits, targets, inputs) for n, w, m in self.terms}

    def pixel_loss(self, logits, targets, **inputs) -> torch.Tensor:
        """(N, H, W) ``sum_k lambda_k pixel_loss_k``."""
        check_pixel_form(self, [{"name": n} for n in self.names])
        return sum(w * _call(m, "pixel_loss", logits, targets, inputs) for n, w, m in self.terms)


def _option_key(name):
    return name.upper()


def build_sem_seg_loss(loss_type: Union[str, Sequence], ignore_value: int):
    """Build a loss from its spec.

    Args:
        loss_type: a registered name (that loss with its default options), or a list of terms
            ``{"name": str, "weight": float, "options": dict}`` (a :class:`WeightedSumLoss`;
            ``weight`` defaults to 1, ``options`` to {}), as :func:`loss_spec_from_config` returns.
        ignore_value: label value ignored by every loss.
    """
    if isinstance(loss_type, str):
        _check_name(loss_type, "MODEL.SEM_SEG_HEAD.LOSS_TYPE")
        return SEM_SEG_LOSS_REGISTRY.get(loss_type)(ignore_value=ignore_value)
    terms = []
    for term in loss_type:
        name = term["name"]
        _check_name(name, "MODEL.SEM_SEG_HEAD.LOSSES")
        options = dict(term.get("options", {}) or {})
        try:
            module = SEM_SEG_LOSS_REGISTRY.get(name)(ignore_value=ignore_value, **options)
        except TypeError as e:
            raise ValueError(
                f"bad options {options} for loss {name!r} (MODEL.SEM_SEG_LOSS.{_option_key(name)}):"
                f" {e}"
            ) from e
        terms.append((name, term.get("weight", 1.0), module))
    if not terms:
        raise ValueError("the loss spec is an empty list; give at least one loss.")
    return WeightedSumLoss(terms)


def _node_to_options(node) -> dict:
    out = {}
    for key, value in node.items():
        if isinstance(value, (list, tuple)) and len(value) == 0:
            value = None  # an empty list (e.g. CLASS_WEIGHTS) means "not set"
        elif isinstance(value, tuple):
            value = list(value)
        out[key.lower()] = value
    return out


def loss_spec_from_config(cfg, names: Optional[Sequence[str]] = None) -> List[dict]:
    """The loss spec of ``cfg`` for :func:`build_sem_seg_loss`, for any head's ``from_config``.

    ``MODEL.SEM_SEG_HEAD.LOSSES`` (with ``LOSS_WEIGHTS``, default all 1) if it is not empty,
    otherwise ``[LOSS_TYPE]`` with weight 1; or ``names``, each with weight 1, when given (e.g.
    the auxiliary head's ``MODEL.AUX_HEAD.LOSS_TYPE``). Each term's options come from
    ``MODEL.SEM_SEG_LOSS.<NAME upper-cased>`` (keys lower-cased).
    """
    head = cfg.MODEL.SEM_SEG_HEAD
    if names is not None:
        names, weights = list(names), [1.0] * len(names)
    else:
        names = loss_names_from_config(cfg)
        weights = list(head.get("LOSS_WEIGHTS", []) or []) or [1.0] * len(names)
    if len(weights) != len(names):
        raise ValueError(
            f"MODEL.SEM_SEG_HEAD.LOSS_WEIGHTS has {len(weights)} entries for "
            f"{len(names)} LOSSES {names}; give one weight per loss."
        )
    options_root = cfg.MODEL.get("SEM_SEG_LOSS", None)
    spec = []
    for name, weight in zip(names, weights):
        _check_name(name, "MODEL.SEM_SEG_HEAD.LOSSES")
        node = options_root.get(_option_key(name), None) if options_root is not None else None
        options = _node_to_options(node) if node is not None else {}
        spec.append({"name": name, "weight": float(weight), "options": options})
    return spec


def distance_maps_for_losses(loss_spec) -> List[str]:
    """The distance-map keys (dataset-dict keys) the losses of ``loss_spec`` need."""
    names = [loss_spec] if isinstance(loss_spec, str) else [t["name"] for t in loss_spec]
    for name in names:
        _check_name(name, "MODEL.SEM_SEG_HEAD.LOSSES")
    return targets_for_losses(names)
