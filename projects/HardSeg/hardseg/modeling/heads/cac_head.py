"""CAC wrapper head: confidence-aware contrastive learning over any per-pixel head.

See docs/methods/cac.md (official code: ``CACFCNHead`` of CVIU-CSU/Confidence-Aware-Contrastive-
Loss). The loss itself is :func:`hardseg.modeling.losses.cac_loss`; this module owns the network
side: the projection head, the weight branch on the detached head input, the weight-branch CE,
the warm-up of alpha and the checkpoint keys.
"""

from typing import Dict, Optional

import fvcore.nn.weight_init as weight_init
import torch
from torch import nn
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.layers import Conv2d, get_norm
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY
from detectron2.utils.events import get_event_storage

from ..losses import (
    NoPixelFormError,
    WeightedSumLoss,
    cac_loss,
    check_pixel_form,
    select_loss_inputs,
)
from .cac_options import CACOptions

_SEG = "seg."
_OWN = ("proj.", "weight_branch.")

# docs/methods/cac.md §2: the head feature that plays X, in order of preference.
CAC_INPUT_PREFERENCE = ("head_input", "decoder_concat", "pre_classifier")
WEIGHT_BRANCHES = ("auto", "head", "conv")


def innermost_head(head: nn.Module) -> nn.Module:
    """The per-pixel head at the bottom of a chain of wrappers (``HardnessHead.seg``, ...)."""
    while isinstance(getattr(head, "seg", None), nn.Module):
        head = head.seg
    return head


def _rename_prefix(state_dict, old: str, new: str, skip=()) -> None:
    for key in [k for k in state_dict if k.startswith(old) and not k.startswith(tuple(skip))]:
        state_dict[new + key[len(old) :]] = state_dict.pop(key)


class ProjectionHead(nn.Module):
    """1x1 conv C -> D + norm + ReLU = u, then ``u + conv1x1(u)`` (bias, no norm, no activation):
    (N, C, h, w) -> (N, D, h, w), not normalised (docs/methods/cac.md §3)."""

    def __init__(self, in_channels: int, channels: int, norm: str):
        super().__init__()
        self.conv = Conv2d(
            in_channels,
            channels,
            1,
            bias=not norm,
            norm=get_norm(norm, channels),
            activation=F.relu,
        )
        self.residual = nn.Conv2d(channels, channels, 1)
        weight_init.c2_msra_fill(self.conv)

    def forward(self, x):
        u = self.conv(x)
        return u + self.residual(u)


class WeightBranch(nn.Module):
    """conv k x k C -> C + norm + ReLU, then a 1x1 classifier with bias: (N, C, h, w) ->
    (N, K, h, w) weight logits (docs/methods/cac.md §3)."""

    def __init__(self, in_channels: int, num_classes: int, kernel_size: int, norm: str):
        super().__init__()
        self.conv = Conv2d(
            in_channels,
            in_channels,
            kernel_size,
            padding=kernel_size // 2,
            bias=not norm,
            norm=get_norm(norm, in_channels),
            activation=F.relu,
        )
        self.classifier = nn.Conv2d(in_channels, num_classes, 1)
        weight_init.c2_msra_fill(self.conv)

    def forward(self, x):
        return self.classifier(self.conv(x))


@SEM_SEG_HEADS_REGISTRY.register()
class ConfidenceAwareContrastiveHead(nn.Module):
    """A per-pixel decode head ``seg`` plus CAC's projection head ``proj`` and weight branch
    ``weight_branch`` (docs/methods/cac.md §1-§4).

    Training (``features`` the backbone dict, ``targets`` (N, H, W) int64 padded with the ignore
    value), per process:

    * ``logits, taps = seg.layers(features, return_features=True)``; X = ``taps[cac_input]``
      (N, C, h, w), at the logits' resolution;
    * ``loss_sem_seg`` (and whatever else ``seg.losses`` returns, e.g. HL's ``loss_hardness``);
    * ``loss_sem_seg_weight = beta * loss_weight * loss(up(weight_branch(sg(X))), targets)`` with
      the innermost head's loss module (same class weights; for OHEM, the kept-pixel mask of the
      main logits);
    * ``loss_cac = alpha(t) * cac_loss(proj(X), nearest(targets), sg(logits), weight_logits)``,
      alpha(t) = 0 for t < ``warmup_iters`` (t = the event storage's iteration).

    Inference: exactly ``seg(features)``. Checkpoint keys are the plain model's plus ``proj.*``
    and ``weight_branch.*``; a plain model's weights load into ``seg``.
    """

    @configurable
    def __init__(
        self,
        *,
        head: nn.Module,
        num_classes: int,
        cac_input: str = "",
        weight_branch: str = "auto",
        norm: str = "BN",
        options: Optional[CACOptions] = None,
        **overrides,
    ):
        """
        Args:
            head: a per-pixel head (or a wrapper of one, e.g. HardnessHead) with
                ``layers(..., return_features=True)`` and ``feature_channels``.
            cac_input: the name of the head feature that plays X; "" picks the first of
                ``CAC_INPUT_PREFERENCE`` the head offers (docs/methods/cac.md §2).
            weight_branch: "auto" (the head's own weight branch when it has one and X is its
                "head_input", as the official OCR and SegFormer heads; else the conv branch),
                "head" or "conv" (docs/methods/cac.md §3).
            norm: norm of the projection head and the conv weight branch.
            options: the ``MODEL.CAC.*`` settings (:class:`CACOptions`, alpha = ``loss_weight``,
                beta = ``weight_loss_weight``); None = the official defaults.
            overrides: :class:`CACOptions` fields that replace those of ``options``
                (``proj_channels=8``, ``loss_weight=1.0``, ...; LazyConfig passes them so).
        Raises:
            ValueError: naming the ``MODEL.CAC`` / ``MODEL.SEM_SEG_HEAD`` key to change.
        """
        super().__init__()
        name = type(head).__name__
        for attr in ("layers", "losses", "ignore_value", "feature_channels"):
            if not hasattr(head, attr):
                raise ValueError(
                    f"MODEL.CAC.HEAD_NAME={name!r}: CAC wraps per-pixel heads with the "
                    f"layers()/losses() split and per-pixel logits (hardseg.modeling.heads); "
                    f"{name} has no {attr!r}. Name a per-pixel head (e.g. 'FCNHead', "
                    "'DeepLabV3PlusPerPixelHead', 'HRNetFCNHead')."
                )
        inner = innermost_head(head)
        if not hasattr(inner, "loss") or not hasattr(inner, "upsample"):
            raise ValueError(
                f"MODEL.CAC.HEAD_NAME={name!r}: the weight branch reuses the head's loss module, "
                f"which {type(inner).__name__} lacks; use a PerPixelLossMixin head."
            )
        try:
            check_pixel_form(inner.loss, getattr(inner, "loss_type", None))
        except NoPixelFormError as e:
            raise ValueError(
                f"CAC's weight branch is trained with the head's per-pixel loss: {e}"
            ) from e
        channels = dict(head.feature_channels)
        if not cac_input:
            cac_input = next((n for n in CAC_INPUT_PREFERENCE if n in channels), "")
        if cac_input not in channels:
            raise ValueError(
                f"MODEL.CAC.INPUT_FEATURE={cac_input!r}: {name} offers the features "
                f"{sorted(channels)} from layers(..., return_features=True); name one of them."
            )
        options = CACOptions.resolve(options, **overrides)
        self.seg = head
        self.cac_input = cac_input
        self.proj = ProjectionHead(channels[cac_input], options.proj_channels, norm)
        # A head may bring its own weight branch (OCRNet: a complete second stage 2; SegFormer:
        # per-level convs), used with its own X "head_input" (docs/methods/cac.md §3).
        own_branch = getattr(inner, "cac_weight_branch", None)
        if weight_branch not in WEIGHT_BRANCHES:
            raise ValueError(
                f"MODEL.CAC.WEIGHT_BRANCH={weight_branch!r}; choose one of {WEIGHT_BRANCHES}."
            )
        if weight_branch == "head" and own_branch is None:
            raise ValueError(
                f"MODEL.CAC.WEIGHT_BRANCH='head': {type(inner).__name__} has no weight branch of "
                "its own (HRNetOCRHead and SegFormerHead do); use 'auto' or 'conv'."
            )
        if weight_branch == "conv" or (weight_branch == "auto" and cac_input != "head_input"):
            own_branch = None
        self.branch_reads_dict = own_branch is not None
        if own_branch is not None:
            self.weight_branch = own_branch(num_classes)
        else:
            self.weight_branch = WeightBranch(
                channels[cac_input], num_classes, options.weight_kernel_size, norm
            )
        self.wants_head_features = True  # HardSegmentor passes layers()' features to losses()
        self.loss_weight = float(options.loss_weight)
        self.weight_loss_weight = float(options.weight_loss_weight)
        self.warmup_iters = int(options.warmup_iters)
        self.cac_options = options.loss_kwargs()
        self.ignore_value = head.ignore_value
        self.common_stride = getattr(head, "common_stride", None)
        self.register_state_dict_post_hook(ConfidenceAwareContrastiveHead._plain_keys)
        self.register_load_state_dict_pre_hook(ConfidenceAwareContrastiveHead._wrapped_keys)

    @classmethod
    def from_config(cls, cfg, input_shape):
        c = cfg.MODEL.CAC
        if c.HEAD_NAME == cls.__name__:
            raise ValueError("MODEL.CAC.HEAD_NAME must name the wrapped head, not the CAC head.")
        if cfg.MODEL.META_ARCHITECTURE == "HardMaskFormer":
            raise ValueError(
                "MODEL.SEM_SEG_HEAD.NAME='ConfidenceAwareContrastiveHead' with "
                "MODEL.META_ARCHITECTURE='HardMaskFormer': keep the mask-classification head as "
                "MODEL.SEM_SEG_HEAD.NAME and set MODEL.CAC.ENABLED=True, which adds CAC on the "
                "pixel decoder's mask_features (docs/methods/cac.md §8)."
            )
        build = SEM_SEG_HEADS_REGISTRY.get(c.HEAD_NAME)
        if not hasattr(build, "layers"):
            raise ValueError(
                f"MODEL.CAC.HEAD_NAME={c.HEAD_NAME!r} has no per-pixel logits (no layers()); CAC "
                "wraps per-pixel heads only (e.g. 'FCNHead', 'DeepLabV3PlusPerPixelHead'). "
                "For a mask-classification model use MODEL.META_ARCHITECTURE='HardMaskFormer' with "
                "MODEL.CAC.ENABLED=True (docs/methods/cac.md §8)."
            )
        head = build(cfg, input_shape)
        return {
            "head": head,
            "num_classes": cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES,
            "cac_input": c.INPUT_FEATURE,
            "weight_branch": c.WEIGHT_BRANCH,
            "norm": cfg.MODEL.SEM_SEG_HEAD.NORM,
            "options": CACOptions.from_config(cfg),
        }

    @property
    def predictor(self) -> nn.Module:
        return self.seg.predictor

    @property
    def required_loss_inputs(self) -> tuple:
        return tuple(getattr(self.seg, "required_loss_inputs", ()))

    @property
    def feature_channels(self) -> Dict[str, int]:
        return dict(self.seg.feature_channels)

    @staticmethod
    def _plain_keys(module, state_dict, prefix, local_metadata):
        _rename_prefix(state_dict, prefix + _SEG, prefix)

    @staticmethod
    def _wrapped_keys(module, state_dict, prefix, *args):
        skip = (prefix + _SEG,) + tuple(prefix + p for p in _OWN)
        _rename_prefix(state_dict, prefix, prefix + _SEG, skip=skip)

    def layers(self, features: Dict[str, torch.Tensor], *, return_features: bool = False):
        """The decode head's ``layers``."""
        return self.seg.layers(features, return_features=return_features)

    def alpha(self) -> float:
        """alpha(t): 0 while the event storage's iteration is below ``warmup_iters``
        (docs/methods/cac.md §4.4), so it is right after ``--resume`` too."""
        if self.warmup_iters and get_event_storage().iter < self.warmup_iters:
            return 0.0
        return self.loss_weight

    def forward(self, features: Dict[str, torch.Tensor], targets=None, *, loss_inputs=None):
        """Training: ``(None, losses)``; inference: the decode head's ``(logits, {})`` only."""
        if not self.training:
            return self.seg(features, targets)
        logits, taps = self.seg.layers(features, return_features=True)
        losses = self.losses(
            logits, targets, features=features, loss_inputs=loss_inputs, head_features=taps
        )
        return None, losses

    def losses(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        *,
        features: Optional[Dict[str, torch.Tensor]] = None,
        pixel_weights: Optional[torch.Tensor] = None,
        loss_inputs: Optional[Dict[str, torch.Tensor]] = None,
        head_features: Optional[Dict[str, torch.Tensor]] = None,
    ) -> Dict[str, torch.Tensor]:
        """The wrapped head's losses plus ``loss_sem_seg_weight`` and ``loss_cac``.

        Args:
            logits: decode-head logits (N, K, h, w).
            targets: (N, H, W) int64 padded with the ignore value.
            features: backbone outputs of the same N images; used to recompute the head's
                features (one more pass of the decode head) when ``head_features`` is None.
            pixel_weights: passed to the wrapped head's loss.
            head_features: the dict of ``layers(..., return_features=True)`` for these logits.
        """
        if head_features is None:
            if features is None:
                raise ValueError(
                    "ConfidenceAwareContrastiveHead.losses needs head_features or the backbone "
                    "features (features=...)."
                )
            head_features = self.seg.layers(features, return_features=True)[1]
        x = head_features[self.cac_input]
        kwargs = {"loss_inputs": loss_inputs, "features": features}
        if pixel_weights is not None:
            kwargs["pixel_weights"] = pixel_weights
        if getattr(self.seg, "wants_head_features", False):
            kwargs["head_features"] = head_features
        losses = dict(self.seg.losses(logits, targets, **kwargs))

        if self.branch_reads_dict:
            weight_logits = self.weight_branch({k: v.detach() for k, v in head_features.items()})
        else:
            weight_logits = self.weight_branch(x.detach())
        losses["loss_sem_seg_weight"] = self._weight_branch_loss(
            logits, weight_logits, targets, loss_inputs
        )
        small = F.interpolate(targets[:, None].float(), size=x.shape[-2:], mode="nearest")
        cac = cac_loss(
            self.proj(x),
            small[:, 0].long(),
            self._at(logits.detach(), x.shape[-2:]),
            weight_logits,
            ignore_value=self.ignore_value,
            **self.cac_options,
        )
        alpha = self.alpha()
        get_event_storage().put_scalar("cac/alpha", alpha)
        losses["loss_cac"] = cac * alpha
        return losses

    def _at(self, maps: torch.Tensor, size) -> torch.Tensor:
        """(N, K, h', w') -> (N, K, *size), bilinear with the innermost head's ``align_corners``;
        unchanged when already that size. X may sit at another resolution than the logits
        (docs/methods/cac.md §2): the main logits are brought to X's grid for the pixel choice,
        the weight logits to the label grid for their loss."""
        if tuple(maps.shape[-2:]) == tuple(size):
            return maps
        align = getattr(innermost_head(self.seg), "align_corners", False)
        return F.interpolate(maps, size=tuple(size), mode="bilinear", align_corners=align)

    def _weight_branch_loss(self, logits, weight_logits, targets, loss_inputs):
        """beta x the innermost head's loss on the weight logits (docs/methods/cac.md §4.1),
        with the OHEM kept mask of the main logits when the loss has one."""
        inner = innermost_head(self.seg)
        loss = inner.loss
        terms = loss.terms if isinstance(loss, WeightedSumLoss) else [("", 1.0, loss)]
        if weight_logits.shape[-2:] == logits.shape[-2:]:
            up = inner.upsample(weight_logits)
        else:  # X is coarser than the logits (FCN-8s' fc7, DUC before the pixel shuffle)
            up = self._at(weight_logits, targets.shape[-2:])
        total = 0.0
        for _, weight, term in terms:
            extra = select_loss_inputs(term, loss_inputs)
            if hasattr(term, "kept_mask"):  # OHEM: the pixels the main head's loss keeps
                with torch.no_grad():
                    extra["kept"] = term.kept_mask(inner.upsample(logits.detach()), targets)
            total = total + weight * term(up, targets, **extra)
        return total * (inner.loss_weight * self.weight_loss_weight)
