"""HL wrapper head: learned pixel hardness levels re-weighting any per-pixel head's loss.

See docs/methods/hl.md (official code: ``HLEncoderDecoder`` of Menoly-xin/Hardness-Level-
Learning). The objective itself is :mod:`hardseg.modeling.losses.hardness`; this module owns the
network side: the HL branch, its detached input, the resize of its logit to label size, and the
bookkeeping (checkpoint keys, TensorBoard images).
"""

from typing import Dict, Optional

import torch
from torch import nn
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY
from detectron2.utils.events import get_event_storage

from ..losses import check_pixel_form, hardness_losses, hardness_weights
from ._common import init_predictor
from .hl_light_branch import LightHardnessBranch

# MODEL.HARDNESS.NORMALIZER values (docs/methods/hl.md §8.5)
HL_NORMALIZERS = ("all_pixels", "kept_pixels")
_SEG = "seg."
_HL = "hl."


def _rename_prefix(state_dict, old: str, new: str, skip=()) -> None:
    """In place: every key starting with ``old`` (and none of ``skip``) -> ``new`` + rest."""
    for key in [k for k in state_dict if k.startswith(old) and not k.startswith(tuple(skip))]:
        state_dict[new + key[len(old) :]] = state_dict.pop(key)


@SEM_SEG_HEADS_REGISTRY.register()
class HardnessHead(nn.Module):
    """A per-pixel decode head ``seg`` plus the HL branch ``hl``: a freshly initialised copy of the
    same head with one output channel, trained to find the pixels whose loss stays high.

    Training (``features`` the backbone dict, ``targets`` (N, H, W) int64 padded with the ignore
    value), per process:

    * ``sem_seg_logits = seg.layers(features)`` (N, K, h, w);
      ``l = seg.loss_weight * seg.pixel_loss(sem_seg_logits, targets)`` (N, H, W), 0 at ignored
      pixels -- the inner head's own per-pixel loss (cross-entropy, focal, OHEM, ...);
    * ``z = hl.layers({k: v.detach()})`` (N, 1, h', w'), resized bilinearly to (N, H, W) with the
      inner head's ``align_corners``; ``w = (sigmoid(z) + eps) / sum(sigmoid(z) + eps)`` over all
      N*H*W pixels (padded and ignored included), computed in float32 (``normalizer``
      "kept_pixels": over the pixels the decode loss counts, 0 elsewhere);
    * returns ``{"loss_sem_seg": sum(sg(w) * l), "loss_hardness": -loss_weight * sum(w * sg(l))}``.

    What is detached: the HL branch sees detached features, so ``loss_hardness`` reaches neither
    the backbone nor ``seg``; ``loss_sem_seg`` sees ``w`` as a constant, so it never reaches ``hl``.
    Auxiliary heads (``HardSegmentor.aux_head``) are not re-weighted.

    Inference: exactly ``seg(features)``; ``hl`` never runs. Checkpoint keys are those of the plain
    model (``seg.`` is dropped from ``state_dict`` keys and added back on load) plus ``hl.*``, so
    an HL model's weights load into the plain model once ``hl.*`` is removed, and a plain model's
    weights load into ``seg``.
    """

    @configurable
    def __init__(
        self,
        *,
        head: nn.Module,
        hl_head: nn.Module,
        eps: float = 0.1,
        loss_weight: float = 0.01,
        predictor_init_std: float = 0.01,
        vis_period: int = 0,
        normalizer: str = "all_pixels",
    ):
        """
        Args:
            head: the decode head, with ``layers``, ``pixel_loss`` and a ``loss`` that has a
                per-pixel form (``loss.pixel_loss``).
            hl_head: a head of the same kind with one output channel (built separately, so
                initialised independently); its ``predictor`` (final 1x1 conv) is re-initialised
                with N(0, ``predictor_init_std``) and bias 0.
            eps, loss_weight: ``MODEL.HARDNESS.EPS`` and ``LOSS_WEIGHT`` (lambda_HL).
            normalizer: ``MODEL.HARDNESS.NORMALIZER``: "all_pixels" (official: every pixel of
                the batch) or "kept_pixels" (those the decode loss counts, ``head.kept_pixels``).
            vis_period: put the hardness map in the event storage every this many iterations
                (0: never).

        Raises:
            ValueError: ``head`` lacks the layers()/pixel_loss() split or its loss has no per-pixel
                form, or ``hl_head`` has no 1-channel ``predictor``.
        """
        super().__init__()
        name = type(head).__name__
        for attr in ("layers", "pixel_loss", "ignore_value", "loss"):
            if not hasattr(head, attr):
                raise ValueError(
                    f"HardnessHead wraps per-pixel heads with the layers()/losses()/pixel_loss() "
                    f"split (hardseg.modeling.heads); {name} has no {attr!r}."
                )
        check_pixel_form(head.loss, getattr(head, "loss_type", None))  # HL re-weights pixel_loss
        predictor = getattr(hl_head, "predictor", None)
        if not isinstance(predictor, nn.Conv2d) or predictor.out_channels != 1:
            raise ValueError(
                f"the HL branch must end in a 1-output-channel nn.Conv2d named 'predictor'; "
                f"{type(hl_head).__name__} has {predictor!r}."
            )
        if normalizer not in HL_NORMALIZERS:
            raise ValueError(
                f"MODEL.HARDNESS.NORMALIZER={normalizer!r}; expected one of {HL_NORMALIZERS}."
            )
        if normalizer == "kept_pixels" and not hasattr(head, "kept_pixels"):
            raise ValueError(
                f"MODEL.HARDNESS.NORMALIZER='kept_pixels' needs a head with kept_pixels() "
                f"(PerPixelLossMixin); {name} has none."
            )
        if eps <= 0:
            raise ValueError(f"MODEL.HARDNESS.EPS must be > 0, got {eps}.")
        init_predictor(predictor, predictor_init_std)
        self.seg = head
        self.hl = hl_head
        self.eps = eps
        self.loss_weight = loss_weight
        self.vis_period = vis_period
        self.normalizer = normalizer
        self.ignore_value = head.ignore_value
        self.common_stride = getattr(head, "common_stride", None)
        # cascades (OCRNet): the earlier stages' logits come with layers()' features
        self.wants_head_features = bool(getattr(head, "wants_head_features", False))
        self.register_state_dict_post_hook(HardnessHead._plain_keys)
        self.register_load_state_dict_pre_hook(HardnessHead._wrapped_keys)

    @classmethod
    def from_config(cls, cfg, input_shape):
        h = cfg.MODEL.HARDNESS
        if not h.ENABLED:
            raise ValueError(
                "MODEL.SEM_SEG_HEAD.NAME is 'HardnessHead' but MODEL.HARDNESS.ENABLED is False; "
                "set it to True (or use MODEL.HARDNESS.HEAD_NAME as the head name for no HL)."
            )
        if h.HEAD_NAME == cls.__name__:
            raise ValueError(
                "MODEL.HARDNESS.HEAD_NAME must name the wrapped head, not HardnessHead."
            )
        build = SEM_SEG_HEADS_REGISTRY.get(h.HEAD_NAME)
        head = build(cfg, input_shape)
        if h.BRANCH == "light":  # a small branch on the detached features (hl_light_branch.py)
            hl_head = LightHardnessBranch(
                input_shape,
                cfg.MODEL.SEM_SEG_HEAD.IN_FEATURES,
                h.LIGHT_CHANNELS,
                cfg.MODEL.SEM_SEG_HEAD.NORM,
            )
        elif h.BRANCH == "copy" and hasattr(build, "hl_branch_from_config"):
            hl_head = build.hl_branch_from_config(cfg, input_shape)  # a cascade's copy (OCRNet)
        elif h.BRANCH == "copy":  # the official branch: the decode head with one output
            hl_cfg = cfg.clone()
            hl_cfg.defrost()
            hl_cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES = 1
            hl_head = build(hl_cfg, input_shape)
        else:
            raise ValueError(f"MODEL.HARDNESS.BRANCH={h.BRANCH!r}: expected 'copy' or 'light'.")
        return {
            "head": head,
            "hl_head": hl_head,
            "eps": h.EPS,
            "loss_weight": h.LOSS_WEIGHT,
            "predictor_init_std": h.PREDICTOR_INIT_STD,
            "vis_period": h.VIS_PERIOD,
            "normalizer": h.NORMALIZER,
        }

    @property
    def predictor(self) -> nn.Module:
        """The decode head's classifier (tools read the class count from it)."""
        return self.seg.predictor

    # Checkpoint keys: "<prefix>seg.X" <-> "<prefix>X" (the plain model's names).
    @staticmethod
    def _plain_keys(module, state_dict, prefix, local_metadata):
        _rename_prefix(state_dict, prefix + _SEG, prefix)

    @staticmethod
    def _wrapped_keys(module, state_dict, prefix, *args):
        _rename_prefix(state_dict, prefix, prefix + _SEG, skip=(prefix + _HL, prefix + _SEG))

    @property
    def required_loss_inputs(self) -> tuple:
        """Extra per-sample maps the decode head's loss needs (see ``PerPixelLossMixin``)."""
        return tuple(getattr(self.seg, "required_loss_inputs", ()))

    @property
    def feature_channels(self) -> Dict[str, int]:
        """The decode head's ``feature_channels``."""
        return dict(getattr(self.seg, "feature_channels", {}))

    def layers(self, features: Dict[str, torch.Tensor], *, return_features: bool = False):
        """The decode head's ``layers`` (logits (N, K, h, w), and its features if asked)."""
        return self.seg.layers(features, return_features=return_features)

    def upsample(self, predictions: torch.Tensor, size=None) -> torch.Tensor:
        """The decode head's ``upsample`` (logits to (H, W), or by its stride)."""
        return self.seg.upsample(predictions, size)

    def hardness_logits(self, features: Dict[str, torch.Tensor], size) -> torch.Tensor:
        """HL logits z (N, H, W) float32 at ``size`` = (H, W), from detached ``features``."""
        z = self.hl.layers({k: v.detach() for k, v in features.items()})
        align = bool(getattr(self.seg, "align_corners", False))
        z = F.interpolate(z.float(), size=tuple(size), mode="bilinear", align_corners=align)
        return z[:, 0]

    @torch.no_grad()
    def hardness(self, features: Dict[str, torch.Tensor], size) -> torch.Tensor:
        """The hardness map sigmoid(z) in [0, 1], (N, H, W) at ``size``, for visualisation and
        analysis in any mode (inference never calls it)."""
        return torch.sigmoid(self.hardness_logits(features, size))

    def forward(self, features: Dict[str, torch.Tensor], targets=None, *, loss_inputs=None):
        """
        Args:
            features: backbone outputs, ``name -> (N, C, H/s, W/s)``.
            targets: (N, H, W) int64 in training.
            loss_inputs: the decode head's extra loss maps (see :meth:`losses`).
        Returns:
            training: ``(None, {"loss_sem_seg", "loss_hardness"})``; inference: the decode head's
            ``(logits (N, K, H, W), {})`` (the HL branch is not run).
        """
        if not self.training:
            return self.seg(features, targets)
        if self.wants_head_features:
            logits, taps = self.seg.layers(features, return_features=True)
        else:
            logits, taps = self.seg.layers(features), None
        return None, self.losses(
            logits, targets, features=features, loss_inputs=loss_inputs, head_features=taps
        )

    def losses(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        *,
        features: Dict[str, torch.Tensor],
        pixel_weights: Optional[torch.Tensor] = None,
        loss_inputs: Optional[Dict[str, torch.Tensor]] = None,
        head_features: Optional[Dict[str, torch.Tensor]] = None,
    ) -> Dict[str, torch.Tensor]:
        """The HL objective for decode-head ``logits`` (from :meth:`layers`; a wrapper such as
        U2PL runs the decode head on a larger batch and passes the labeled rows).

        Args:
            logits: decode-head logits (N, K, h, w) of the N labeled images.
            targets: (N, H, W) int64, padded with the ignore value.
            features: backbone outputs of the same N images, ``name -> (N, C, H/s, W/s)``; the HL
                branch reads them detached.
            pixel_weights: not accepted (HL makes its own weights); must be None.
            loss_inputs: the decode head's extra loss maps, as for any per-pixel head.
            head_features: ``seg.layers(..., return_features=True)``'s dict, for a cascade
                (recomputed from ``features`` when None).
        Returns:
            ``{"loss_sem_seg": sum(sg(w) * l), "loss_hardness": -lambda_HL * sum(w * sg(l))}``,
            ``l`` = ``loss_weight`` x the decode head's per-pixel loss (N, H, W) and ``w`` the
            weights of :func:`hardness_weights`, summing to 1 over the N x H x W pixels.
            ``loss_sem_seg`` equals ``seg.losses(logits, targets, pixel_weights=sg(w))``; ``l``
            is computed once here because ``loss_hardness`` needs it too.
        """
        if pixel_weights is not None:
            raise ValueError("HardnessHead computes its own pixel weights; pass none.")
        if features is None:
            raise ValueError("HardnessHead.losses needs the backbone features (features=...).")
        pixel_losses = self.seg.pixel_loss(logits, targets, loss_inputs=loss_inputs)
        pixel_losses = pixel_losses.float() * self.seg.loss_weight
        z = self.hardness_logits(features, pixel_losses.shape[-2:])
        mask = None
        if self.normalizer == "kept_pixels":
            mask = self.seg.kept_pixels(logits, targets)
        weights = hardness_weights(z, self.eps, mask)
        loss_seg, loss_hl = hardness_losses(weights, pixel_losses, self.loss_weight)
        self._log(z, weights, pixel_losses)
        out = {"loss_sem_seg": loss_seg, "loss_hardness": loss_hl}
        if hasattr(self.seg, "cascade_pixel_losses"):
            # A cascade (OCRNet): the same map re-weights the earlier stages' losses, which stay
            # out of the HL objective (official HLCascadeEncoderDecoder, docs/methods/hl.md §3.3).
            if head_features is None:
                head_features = self.seg.layers(features, return_features=True)[1]
            stages = self.seg.cascade_pixel_losses(
                targets, head_features=head_features, loss_inputs=loss_inputs
            )
            for name, loss in stages.items():
                out[name] = (weights.detach() * loss.float()).sum()
        return out

    @torch.no_grad()
    def _log(self, z, weights, pixel_losses):
        storage = get_event_storage()
        storage.put_scalar("hardness/sigmoid_mean", torch.sigmoid(z).mean().item())
        positive = weights[weights > 0]  # "kept_pixels": the pixels outside the loss weigh 0
        if positive.numel():
            ratio = (positive.max() / positive.min()).item()
            storage.put_scalar("hardness/weight_ratio", ratio)
        if self.vis_period > 0 and storage.iter % self.vis_period == 0:
            # image 0: sigmoid(z) in [0, 1] | per-pixel loss / its max, side by side, grey.
            loss = pixel_losses[0] / pixel_losses[0].max().clamp(min=1e-12)
            panel = torch.cat([torch.sigmoid(z[0]), loss], dim=1).clamp(0, 1)
            storage.put_image("hardness/map | pixel loss", panel[None].repeat(3, 1, 1).cpu())
