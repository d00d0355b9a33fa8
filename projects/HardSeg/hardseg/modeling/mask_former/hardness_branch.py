"""HL (learned pixel hardness) on mask classification: the design.

The HL seed (docs/methods/hl.md) weights a per-pixel CE; its Mask2Former results reuse
HL maps of a separate PSPNet and release no integration code (docs/methods/hl.md §5.3). This module
defines how HardSeg puts HL on a mask-classification model, keeping
docs/methods/hl.md §4's objective unchanged:

* **Branch.** :class:`MaskHardnessBranch` reads the pixel decoder's ``mask_features``
  (N, E, H/4, W/4) **detached** (so the HL objective never reaches the backbone or the pixel
  decoder, docs/methods/hl.md §2) and predicts one logit per pixel ``z`` (N, 1, H/4, W/4): 3x3
  conv + norm + ReLU, then a 1x1 conv initialised normal(std ``init_std`` = 0.01), bias 0, so ``w``
  starts uniform (docs/methods/hl.md §3.1). It is built only when ``MODEL.HARDNESS.ENABLED`` and is
  never run at inference (zero inference cost; eval outputs are identical with and without it).
* **Where the weights apply.** Mask2Former's mask losses live on P points per matched
  (prediction, target) pair, drawn by importance sampling. The HL logits are read at the **same
  points** with ``point_sample`` (bilinear, the coordinates cover the padded image in both maps),
  giving ``z`` (M, P) over the M matched pairs of the per-process batch.
* **Normalisation (docs/methods/hl.md §4).** ``w = hardness_weights(z, eps)`` = ``(sigmoid(z) +
  eps) / S`` with one normaliser S over all M * P points of the per-process batch (no all-reduce),
  so ``sum w = 1``; eps = ``MODEL.HARDNESS.EPS`` (0.1).
* **Segmentation terms.** The point BCE is ``sum sg(w) * bce`` (times ``M / num_masks``, which is
  1 on one process and restores Mask2Former's cross-process normalisation otherwise); with
  uniform ``w`` this is exactly Mask2Former's mean-over-points, sum-over-pairs BCE. Dice is not a
  sum over points, so it takes the weights inside its sums: point weights ``sg(w) * M * P``
  (mean 1, uniform -> exactly Mask2Former's Dice). The class CE (per query, not per pixel) is not
  weighted. Every decoder layer (deep supervision) is weighted by the same HL map at its own
  points, with its own normaliser.
* **HL term (min-max).** ``loss_hardness = -lambda * sum w * sg(bce)`` with lambda =
  ``MODEL.HARDNESS.LOSS_WEIGHT`` (0.01), from the last decoder layer's BCE only (as
  docs/methods/hl.md §3.3's cascade trains HL on the final stage while its map weights every stage).
  The network minimises the weighted loss with ``w`` constant; the HL branch maximises it with the
  loss constant; the parameter sets are disjoint, so one optimiser step on the summed loss plays the
  game. ``d loss_hardness / d z_i = -(lambda / S) sigmoid'(z_i) (bce_i - sum_j w_j bce_j)``.

Dimension legend: N images; E = ``in_channels`` (MASK_DIM); C = ``conv_dim``; (H4, W4) = 1/4 of
the padded input.
"""

import torch
from torch import nn
from torch.nn import functional as F

from detectron2.layers import Conv2d, get_norm

__all__ = ["MaskHardnessBranch"]


class MaskHardnessBranch(nn.Module):
    """The HL branch of a mask-classification model (see the module docstring).

    forward(mask_features (N, E, H4, W4)) -> HL logits (N, 1, H4, W4); the input is detached here.
    """

    def __init__(self, in_channels: int, conv_dim: int, norm: str = "GN", init_std: float = 0.01):
        super().__init__()
        self.conv = Conv2d(
            in_channels,
            conv_dim,
            3,
            padding=1,
            bias=norm == "",
            norm=get_norm(norm, conv_dim),
            activation=F.relu,
        )
        nn.init.kaiming_normal_(self.conv.weight, mode="fan_out", nonlinearity="relu")
        self.predictor = nn.Conv2d(conv_dim, 1, 1)
        nn.init.normal_(self.predictor.weight, std=init_std)
        nn.init.zeros_(self.predictor.bias)

    def forward(self, mask_features: torch.Tensor) -> torch.Tensor:
        return self.predictor(self.conv(mask_features.detach()))
