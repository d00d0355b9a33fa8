"""PSPNet head (pyramid pooling module), the HL paper's headline decoder (PSPNet-R101-D8)."""

from typing import Dict, Sequence

import fvcore.nn.weight_init as weight_init
import torch
from torch import nn
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.layers import Conv2d, ShapeSpec, get_norm
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY

from ._common import as_shape_specs, head_args_from_config, init_predictor
from .per_pixel import PerPixelLossMixin


@SEM_SEG_HEADS_REGISTRY.register()
class PSPNetHead(PerPixelLossMixin, nn.Module):
    """Pyramid Scene Parsing head (Zhao et al., CVPR 2017), laid out as mmseg's ``PSPHead``.

    On one feature ``x`` (N, C, h, w) (``res5`` of a dilated ResNet, stride 8):

    * for each pool scale s (1, 2, 3, 6): adaptive average pool to s x s, 1x1 conv C -> ``channels``
      + norm + ReLU, bilinear resize back to h x w;
    * concat [x, the 4 branches] (N, C + 4 * channels, h, w) -> 3x3 conv -> ``channels`` + norm +
      ReLU -> Dropout2d(``dropout``) -> 1x1 ``predictor`` -> ``sem_seg_logits`` (N, K, h, w).

    Follows HardSeg's per-pixel head contract (``layers`` / ``losses`` / ``pixel_loss``): the
    logits are upsampled by ``common_stride`` (the feature stride) for the loss and inference, so
    inputs must be padded to a multiple of it (``MODEL.RESNETS.SIZE_DIVISIBILITY``). Init: convs
    MSRA (fan-out), ``predictor`` N(0, ``predictor_init_std``) with bias 0 (mmseg). With BN the
    scale-1 branch needs more than one image per process in training.
    """

    @configurable
    def __init__(
        self,
        input_shape: Dict[str, ShapeSpec],
        *,
        num_classes: int,
        in_feature: str = "res5",
        pool_scales: Sequence[int] = (1, 2, 3, 6),
        channels: int = 512,
        dropout: float = 0.1,
        norm: str = "BN",
        align_corners: bool = False,
        loss_type="cross_entropy",
        loss_weight: float = 1.0,
        ignore_value: int = 255,
        predictor_init_std: float = 0.01,
    ):
        """
        Args:
            input_shape: backbone output shapes; only ``in_feature`` is used.
            num_classes: K, output channels of ``predictor``.
            in_feature: backbone feature to read.
            pool_scales: output sizes of the pyramid poolings.
            channels: channels of each pyramid branch and of the bottleneck.
            dropout: Dropout2d probability before ``predictor``.
            norm: norm of every conv but ``predictor`` (see ``detectron2.layers.get_norm``).
            align_corners: of every bilinear resize (mmseg's 769x769 configs: True).
            loss_type, loss_weight, ignore_value: the loss (``SEM_SEG_LOSS_REGISTRY`` name or a
                ``loss_spec_from_config`` list).
            predictor_init_std: std of the normal init of ``predictor``.
        """
        super().__init__()
        input_shape = as_shape_specs(input_shape)
        if in_feature not in input_shape:
            raise ValueError(
                f"PSPNetHead reads {in_feature!r} but the backbone gives {sorted(input_shape)}; "
                "add it to MODEL.RESNETS.OUT_FEATURES."
            )
        if not pool_scales:
            raise ValueError(
                "PSPNetHead needs at least one pool scale (MODEL.SEM_SEG_HEAD.POOL_SCALES)."
            )
        in_channels = input_shape[in_feature].channels
        self.in_feature = in_feature
        self.pool_scales = tuple(int(s) for s in pool_scales)
        self.align_corners = align_corners
        self.common_stride = input_shape[in_feature].stride
        self.init_loss(loss_type, loss_weight, ignore_value)

        use_bias = norm == ""
        self.ppm = nn.ModuleList(
            Conv2d(
                in_channels,
                channels,
                kernel_size=1,
                bias=use_bias,
                norm=get_norm(norm, channels),
                activation=F.relu,
            )
            for _ in self.pool_scales
        )
        self.bottleneck = Conv2d(
            in_channels + len(self.pool_scales) * channels,
            channels,
            kernel_size=3,
            padding=1,
            bias=use_bias,
            norm=get_norm(norm, channels),
            activation=F.relu,
        )
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        self.predictor = nn.Conv2d(channels, num_classes, kernel_size=1)
        for conv in [*self.ppm, self.bottleneck]:
            weight_init.c2_msra_fill(conv)
        init_predictor(self.predictor, predictor_init_std)

    @classmethod
    def from_config(cls, cfg, input_shape, node: str = "SEM_SEG_HEAD"):
        """``node``: "SEM_SEG_HEAD" (decode head) or "AUX_HEAD" (see ``head_args_from_config``)."""
        ret = head_args_from_config(cfg, input_shape, cls.__name__, node)
        ret["pool_scales"] = list(cfg.MODEL.SEM_SEG_HEAD.POOL_SCALES)
        return ret

    def layers(self, features: Dict[str, torch.Tensor], *, return_features: bool = False):
        """features[in_feature] (N, C, h, w) -> sem_seg_logits (N, K, h, w); with
        ``return_features``, ``(logits, {"pre_classifier": (N, channels, h, w)})``, the
        predictor's input."""
        x = features[self.in_feature]
        size = x.shape[-2:]
        branches = [x]
        for scale, conv in zip(self.pool_scales, self.ppm):
            y = conv(F.adaptive_avg_pool2d(x, scale))
            branches.append(
                F.interpolate(y, size=size, mode="bilinear", align_corners=self.align_corners)
            )
        y = self.dropout(self.bottleneck(torch.cat(branches, dim=1)))
        logits = self.predictor(y)
        return (logits, {"pre_classifier": y}) if return_features else logits
