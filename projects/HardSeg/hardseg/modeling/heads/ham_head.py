"""SegNeXt's LightHam decode head: multi-level concat + "Hamburger" NMF global context (Geng et
al., ICLR 2021; Guo et al. 2022), on HardSeg's per-pixel head contract."""

from typing import Dict, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY

from ..shape_spec import as_shape_specs
from ._common import loss_args_from_config
from .per_pixel import PerPixelLossMixin


class ConvGNReLU(nn.Module):
    """1x1 conv (no bias) -> GroupNorm(``groups``) -> optional ReLU; names ``conv``/``gn`` as
    mmcv's ConvModule with a GN norm."""

    def __init__(self, in_channels: int, out_channels: int, groups: int = 32, relu: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.gn = nn.GroupNorm(groups, out_channels)
        self.relu = relu

    def forward(self, x):
        x = self.gn(self.conv(x))
        return F.relu(x) if self.relu else x


class NMF2D(nn.Module):
    """Non-negative matrix factorisation of a map, X (C x HW) ~ B (C x R) Z^T (Z: HW x R), by
    multiplicative updates from random bases; returns B Z^T reshaped to (N, C, H, W).

    ``steps`` updates run without gradient (training: ``train_steps``, evaluation:
    ``eval_steps``); one last update of Z carries the gradient (the "one-step gradient" of the
    Hamburger paper). Bases are drawn from U(0, 1) and L2-normalised over C; in evaluation they
    come from a generator seeded with ``eval_seed`` at every call, so inference is deterministic.
    """

    def __init__(self, rank: int, train_steps: int = 6, eval_steps: int = 7, eval_seed: int = 0):
        super().__init__()
        self.rank, self.train_steps, self.eval_steps = rank, train_steps, eval_steps
        self.eval_seed = eval_seed

    def _bases(self, n: int, c: int, like: torch.Tensor) -> torch.Tensor:
        if self.training:
            bases = torch.rand((n, c, self.rank), device=like.device, dtype=like.dtype)
        else:
            g = torch.Generator(device="cpu").manual_seed(self.eval_seed)
            bases = torch.rand((n, c, self.rank), generator=g).to(like.device, like.dtype)
        return F.normalize(bases, dim=1)

    @staticmethod
    def _update_coef(x, bases, coef):
        """Z <- Z * (X^T B) / (Z B^T B)."""
        return (
            coef
            * torch.bmm(x.transpose(1, 2), bases)
            / (coef @ (bases.transpose(1, 2) @ bases) + 1e-6)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        x = x.reshape(n, c, h * w).float()
        bases = self._bases(n, c, x)
        with torch.no_grad():
            coef = F.softmax(torch.bmm(x.transpose(1, 2), bases), dim=-1)  # (N, HW, R)
            for _ in range(self.train_steps if self.training else self.eval_steps):
                coef = self._update_coef(x, bases, coef)
                bases = bases * torch.bmm(x, coef) / (bases @ (coef.transpose(1, 2) @ coef) + 1e-6)
        coef = self._update_coef(x, bases, coef)
        return torch.bmm(bases, coef.transpose(1, 2)).reshape(n, c, h, w)


class Hamburger(nn.Module):
    """x -> ReLU(x + GN(conv(NMF(ReLU(conv_bias(x))))))."""

    def __init__(self, channels: int, rank: int, train_steps: int, eval_steps: int, groups: int):
        super().__init__()
        self.ham_in = nn.Module()  # official keys: ham_in.conv.{weight,bias}
        self.ham_in.conv = nn.Conv2d(channels, channels, 1)
        self.ham = NMF2D(rank, train_steps, eval_steps)
        self.ham_out = ConvGNReLU(channels, channels, groups, relu=False)

    def forward(self, x):
        y = self.ham(F.relu(self.ham_in.conv(x)))
        return F.relu(x + self.ham_out(y.to(x.dtype)))


@SEM_SEG_HEADS_REGISTRY.register()
class LightHamHead(PerPixelLossMixin, nn.Module):
    """The ``in_features`` (SegNeXt: res3, res4, res5) resized to the finest of them (bilinear),
    concatenated, squeezed to ``ham_channels`` (1x1 conv, GN, ReLU), passed through the Hamburger,
    aligned to ``channels`` (1x1 conv, GN, ReLU), dropped out and classified by a 1x1 conv.

    Shapes: logits (N, K, H/s, W/s), s the stride of the first in_feature (8 for SegNeXt).
    Official head: Visual-Attention-Network/SegNeXt ``mmseg/models/decode_heads/ham_head.py``.
    """

    @configurable
    def __init__(
        self,
        input_shape,
        *,
        num_classes: int,
        in_features: Sequence[str] = ("res3", "res4", "res5"),
        ham_channels: int = 256,
        channels: int = 256,
        rank: int = 16,
        train_steps: int = 6,
        eval_steps: int = 7,
        gn_groups: int = 32,
        dropout: float = 0.1,
        loss_type="cross_entropy",
        loss_weight: float = 1.0,
        ignore_value: int = 255,
        predictor_init_std: float = 0.01,
    ):
        super().__init__()
        input_shape = as_shape_specs(input_shape)
        missing = [f for f in in_features if f not in input_shape]
        if missing:
            raise ValueError(
                f"LightHamHead: MODEL.SEM_SEG_HEAD.IN_FEATURES {list(in_features)} are not all "
                f"backbone outputs (missing {missing})."
            )
        self.in_features = list(in_features)
        total = sum(input_shape[f].channels for f in in_features)
        self.squeeze = ConvGNReLU(total, ham_channels, gn_groups)
        self.hamburger = Hamburger(ham_channels, rank, train_steps, eval_steps, gn_groups)
        self.align = ConvGNReLU(ham_channels, channels, gn_groups)
        self.init_classifier(channels, num_classes, dropout=dropout, init_std=predictor_init_std)
        self.common_stride = input_shape[self.in_features[0]].stride
        self.init_loss(loss_type, loss_weight, ignore_value)

    @classmethod
    def from_config(cls, cfg, input_shape):
        h = cfg.MODEL.SEM_SEG_HEAD
        return {
            **loss_args_from_config(cfg),
            "input_shape": input_shape,
            "in_features": h.IN_FEATURES,
            "ham_channels": h.HAM_CHANNELS,
            "channels": h.CHANNELS,
            "rank": h.HAM_RANK,
            "train_steps": h.HAM_TRAIN_STEPS,
            "eval_steps": h.HAM_EVAL_STEPS,
            "gn_groups": h.GN_GROUPS,
            "dropout": h.DROPOUT,
            "predictor_init_std": h.PREDICTOR_INIT_STD,
        }

    def layers(self, features: Dict[str, torch.Tensor], *, return_features: bool = False):
        """``features`` -> logits (N, K, H/s, W/s); with ``return_features`` also
        ``{"pre_classifier": (N, channels, H/s, W/s)}``."""
        size = features[self.in_features[0]].shape[-2:]
        levels = [
            (
                F.interpolate(features[f], size=size, mode="bilinear", align_corners=False)
                if features[f].shape[-2:] != size
                else features[f]
            )
            for f in self.in_features
        ]
        y = self.align(self.hamburger(self.squeeze(torch.cat(levels, dim=1))))
        logits = self.predictor(self.dropout(y))
        return (logits, {"pre_classifier": y}) if return_features else logits
