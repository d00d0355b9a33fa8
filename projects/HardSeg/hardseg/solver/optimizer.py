"""Optimizer construction: SGD or AdamW, a backbone LR multiplier, and full-model gradient
clipping (Mask2Former's solver recipe: AdamW 1e-4, weight decay 0.05, backbone x0.1, clip the
global gradient norm to 0.01).

``build_optimizer(cfg, model)`` is what ``Trainer.build_optimizer`` calls; ``param_groups`` and
``make_optimizer`` are the explicit-argument pieces LazyConfig files use.
"""

from typing import Any, Dict, List, Type

import torch
from torch import nn

from detectron2.solver import build_optimizer as d2_build_optimizer
from detectron2.solver.build import maybe_add_gradient_clipping

__all__ = ["build_optimizer", "param_groups", "make_optimizer", "with_full_model_clipping"]

_NORMS = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.SyncBatchNorm,
    nn.GroupNorm,
    nn.InstanceNorm2d,
    nn.LayerNorm,
    nn.LocalResponseNorm,
)


def param_groups(
    model: nn.Module,
    base_lr: float,
    weight_decay: float,
    *,
    weight_decay_norm: float = 0.0,
    weight_decay_embed: float = 0.0,
    backbone_multiplier: float = 1.0,
) -> List[Dict[str, Any]]:
    """One group per trainable parameter (each parameter once): ``lr = base_lr`` times
    ``backbone_multiplier`` for parameters under a module named ``backbone`` (``model.backbone``,
    or a wrapped model's such as ``model.student.segmentor.backbone``); weight decay
    ``weight_decay_norm`` for normalisation layers (detectron2's ``FrozenBatchNorm2d`` has no
    parameters), ``weight_decay_embed`` for ``nn.Embedding`` and ``weight_decay`` otherwise."""
    groups, seen = [], set()
    for module_name, module in model.named_modules():
        for name, p in module.named_parameters(recurse=False):
            if not p.requires_grad or id(p) in seen:
                continue
            seen.add(id(p))
            lr = base_lr
            # a model's backbone, also inside a wrapper (U2PL's student.segmentor.backbone)
            if "backbone" in module_name.split("."):
                lr = base_lr * backbone_multiplier
            wd = weight_decay
            if isinstance(module, _NORMS):
                wd = weight_decay_norm
            elif isinstance(module, nn.Embedding):
                wd = weight_decay_embed
            groups.append({"params": [p], "lr": lr, "weight_decay": wd})
    return groups


def with_full_model_clipping(
    optimizer_cls: Type[torch.optim.Optimizer], clip_value: float, norm_type: float = 2.0
) -> Type[torch.optim.Optimizer]:
    """A subclass of ``optimizer_cls`` whose ``step`` first clips the norm of all gradients of
    all groups together to ``clip_value`` (``torch.nn.utils.clip_grad_norm_``)."""

    class FullModelClippedOptimizer(optimizer_cls):
        def step(self, closure=None):
            params = [p for g in self.param_groups for p in g["params"]]
            torch.nn.utils.clip_grad_norm_(params, clip_value, norm_type)
            return super().step(closure=closure)

    FullModelClippedOptimizer.__name__ = f"FullModelClipped{optimizer_cls.__name__}"
    return FullModelClippedOptimizer


def make_optimizer(
    params,
    *,
    name: str = "ADAMW",
    lr: float = 1e-4,
    weight_decay: float = 0.05,
    momentum: float = 0.9,
    nesterov: bool = False,
    full_model_clip_value: float = 0.0,
    norm_type: float = 2.0,
) -> torch.optim.Optimizer:
    """``torch.optim.AdamW`` or ``SGD`` over ``params`` (groups from :func:`param_groups`), with
    full-model gradient clipping when ``full_model_clip_value > 0``."""
    name = name.upper()
    if name == "ADAMW":
        cls, kwargs = torch.optim.AdamW, {}
    elif name == "ADAM":  # L2 weight decay added to the gradient (HIAST's optimizer)
        cls, kwargs = torch.optim.Adam, {}
    elif name == "SGD":
        cls, kwargs = torch.optim.SGD, {"momentum": momentum, "nesterov": nesterov}
    else:
        raise ValueError(f"SOLVER.OPTIMIZER={name!r}; expected 'SGD', 'ADAM' or 'ADAMW'.")
    if full_model_clip_value > 0:
        cls = with_full_model_clipping(cls, full_model_clip_value, norm_type)
    return cls(params, lr=lr, weight_decay=weight_decay, **kwargs)


def build_optimizer(cfg, model: nn.Module) -> torch.optim.Optimizer:
    """The optimizer of ``cfg.SOLVER``. SGD with ``BACKBONE_MULTIPLIER`` 1 and a clip type other
    than "full_model" is detectron2's ``build_optimizer`` unchanged; otherwise
    :func:`param_groups` + :func:`make_optimizer`, with detectron2's per-parameter clipping for
    the "value"/"norm" clip types."""
    s = cfg.SOLVER
    clip = s.CLIP_GRADIENTS
    full_model = clip.ENABLED and clip.CLIP_TYPE == "full_model"
    if s.OPTIMIZER.upper() == "SGD" and s.BACKBONE_MULTIPLIER == 1.0 and not full_model:
        return d2_build_optimizer(cfg, model)
    params = param_groups(
        model,
        s.BASE_LR,
        s.WEIGHT_DECAY,
        weight_decay_norm=s.WEIGHT_DECAY_NORM,
        weight_decay_embed=s.WEIGHT_DECAY_EMBED,
        backbone_multiplier=s.BACKBONE_MULTIPLIER,
    )
    optimizer = make_optimizer(
        params,
        name=s.OPTIMIZER,
        lr=s.BASE_LR,
        weight_decay=s.WEIGHT_DECAY,
        momentum=s.MOMENTUM,
        nesterov=s.NESTEROV,
        full_model_clip_value=clip.CLIP_VALUE if full_model else 0.0,
        norm_type=clip.NORM_TYPE,
    )
    if clip.ENABLED and not full_model:
        optimizer = maybe_add_gradient_clipping(cfg, optimizer)
    return optimizer
