"""STDC-Seg's decoder (Fan et al., CVPR 2021) on HardSeg's per-pixel head contract: context path
with attention refinement, feature fusion, two auxiliary outputs and the train-only detail head.

Official code: MichaelFan01/STDC-Seg ``models/model_stages.py`` (``ContextPath``,
``FeatureFusionModule``, ``BiSeNetOutput``) and ``loss/detail_loss.py``; see
docs/models_efficient.md.
"""

from typing import Dict, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.layers import get_norm
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY

from ..shape_spec import as_shape_specs
from ._common import loss_args_from_config
from .per_pixel import PerPixelLossMixin

# The Laplacian of the detail targets (official DetailAggregateLoss).
_LAPLACIAN = torch.tensor([[-1.0, -1.0, -1.0], [-1.0, 8.0, -1.0], [-1.0, -1.0, -1.0]])


class ConvBNReLU(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int, norm: str):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, 1, kernel // 2, bias=False)
        self.bn = get_norm(norm, cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class AttentionRefinement(nn.Module):
    """3x3 ConvBNReLU, then a channel gate sigmoid(BN(1x1(global mean))) multiplied onto it."""

    def __init__(self, cin: int, cout: int, norm: str):
        super().__init__()
        self.conv = ConvBNReLU(cin, cout, 3, norm)
        self.conv_atten = nn.Conv2d(cout, cout, 1, bias=False)
        self.bn_atten = get_norm(norm, cout)

    def forward(self, x):
        feat = self.conv(x)
        gate = torch.sigmoid(self.bn_atten(self.conv_atten(feat.mean((2, 3), keepdim=True))))
        return feat * gate


class FeatureFusion(nn.Module):
    """concat -> 1x1 ConvBNReLU -> feat + feat * sigmoid(1x1(ReLU(1x1(global mean))))."""

    def __init__(self, cin: int, cout: int, norm: str):
        super().__init__()
        self.convblk = ConvBNReLU(cin, cout, 1, norm)
        self.conv1 = nn.Conv2d(cout, cout // 4, 1, bias=False)
        self.conv2 = nn.Conv2d(cout // 4, cout, 1, bias=False)

    def forward(self, spatial, context):
        feat = self.convblk(torch.cat([spatial, context], dim=1))
        gate = torch.sigmoid(self.conv2(F.relu(self.conv1(feat.mean((2, 3), keepdim=True)))))
        return feat + feat * gate


class OutputBranch(nn.Module):
    """3x3 ConvBNReLU to ``mid`` channels -> 1x1 conv (no bias) to ``classes`` (official
    ``BiSeNetOutput``, the auxiliary and detail outputs)."""

    def __init__(self, cin: int, mid: int, classes: int, norm: str):
        super().__init__()
        self.conv = ConvBNReLU(cin, mid, 3, norm)
        self.conv_out = nn.Conv2d(mid, classes, 1, bias=False)

    def forward(self, x):
        return self.conv_out(self.conv(x))


def detail_targets(targets: torch.Tensor, ignore_value: int, threshold: float = 0.1):
    """Binary boundary map (N, 1, H, W) from label maps (N, H, W), the official recipe: the
    Laplacian of the label ids (ignored pixels as 0), clamped at 0, at strides 1, 2 and 4 (strided
    conv, nearest upsampling back), each thresholded at 0.1, fused with weights 0.6/0.3/0.1 and
    thresholded again."""
    labels = targets.clone().float()
    labels[targets == ignore_value] = 0
    labels = labels[:, None]
    kernel = _LAPLACIAN.to(labels)[None, None]
    size = labels.shape[-2:]
    maps = []
    for stride in (1, 2, 4):
        edge = F.conv2d(labels, kernel, stride=stride, padding=1).clamp(min=0)
        if stride > 1:
            edge = F.interpolate(edge, size=size, mode="nearest")
        maps.append((edge > threshold).float())
    fused = 0.6 * maps[0] + 0.3 * maps[1] + 0.1 * maps[2]
    return (fused > threshold).float()


def dice_loss(logits: torch.Tensor, targets: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """1 - (2 |p t| + 1) / (|p| + |t| + 1) per sample (p = sigmoid(logits)), averaged."""
    p = torch.sigmoid(logits).flatten(1)
    t = targets.flatten(1)
    return (1 - (2 * (p * t).sum(1) + smooth) / (p.sum(1) + t.sum(1) + smooth)).mean()


@SEM_SEG_HEADS_REGISTRY.register()
class STDCHead(PerPixelLossMixin, nn.Module):
    """STDC-Seg decoder over the backbone's ``res3`` (stride 8), ``res4`` (16), ``res5`` (32).

    * context path: ``res5`` refined (ARM) plus its global-pool context, upsampled (nearest) to
      stride 16 and convolved (``cp16``); ``res4`` refined plus ``cp16``, upsampled to stride 8
      and convolved (``cp8``);
    * fusion of ``res3`` and ``cp8`` (FFM), 3x3 ConvBNReLU, classifier: the logits, stride 8;
    * training only: auxiliary outputs on ``cp8`` and ``cp16`` (``loss_sem_seg_aux16/32``, the
      head's loss, weight ``aux_weight``) and the detail head on ``res3`` trained against
      Laplacian boundary targets with BCE + Dice (``loss_detail_bce``, ``loss_detail_dice``,
      weight ``detail_weight``). These are computed in :meth:`losses` from ``features`` (the
      context path runs again there), so a wrapper calling only :meth:`pixel_loss` (HL) trains
      the main output alone.
    """

    @configurable
    def __init__(
        self,
        input_shape,
        *,
        num_classes: int,
        in_features: Sequence[str] = ("res3", "res4", "res5"),
        context_channels: int = 128,
        fuse_channels: int = 256,
        aux_channels: int = 64,
        aux_weight: float = 1.0,
        detail_weight: float = 1.0,
        norm: str = "BN",
        loss_type="cross_entropy",
        loss_weight: float = 1.0,
        ignore_value: int = 255,
    ):
        super().__init__()
        input_shape = as_shape_specs(input_shape)
        if len(in_features) != 3 or any(f not in input_shape for f in in_features):
            raise ValueError(
                f"STDCHead reads 3 levels (strides 8, 16, 32); MODEL.SEM_SEG_HEAD.IN_FEATURES = "
                f"{list(in_features)}, backbone outputs {sorted(input_shape)}."
            )
        self.in_features = list(in_features)
        c8, c16, c32 = (input_shape[f].channels for f in in_features)
        cc = context_channels
        self.arm16 = AttentionRefinement(c16, cc, norm)
        self.arm32 = AttentionRefinement(c32, cc, norm)
        self.conv_head32 = ConvBNReLU(cc, cc, 3, norm)
        self.conv_head16 = ConvBNReLU(cc, cc, 3, norm)
        self.conv_avg = ConvBNReLU(c32, cc, 1, norm)
        self.ffm = FeatureFusion(c8 + cc, fuse_channels, norm)
        self.conv_out = ConvBNReLU(fuse_channels, fuse_channels, 3, norm)
        self.init_classifier(fuse_channels, num_classes, bias=False)
        self.conv_out16 = OutputBranch(cc, aux_channels, num_classes, norm)
        self.conv_out32 = OutputBranch(cc, aux_channels, num_classes, norm)
        self.conv_out_sp8 = OutputBranch(c8, aux_channels, 1, norm)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, a=1)
        self.aux_weight, self.detail_weight = aux_weight, detail_weight
        self.align_corners = True  # the official outputs are resized with align_corners=True
        self.common_stride = input_shape[self.in_features[0]].stride
        self.init_loss(loss_type, loss_weight, ignore_value)

    @classmethod
    def from_config(cls, cfg, input_shape):
        h = cfg.MODEL.SEM_SEG_HEAD
        return {
            **loss_args_from_config(cfg),
            "input_shape": input_shape,
            "in_features": h.IN_FEATURES,
            "context_channels": h.STDC_CONTEXT_CHANNELS,
            "fuse_channels": h.STDC_FUSE_CHANNELS,
            "aux_channels": h.STDC_AUX_CHANNELS,
            "aux_weight": h.STDC_AUX_WEIGHT,
            "detail_weight": h.STDC_DETAIL_WEIGHT,
            "norm": h.NORM,
        }

    def context_path(self, features):
        """-> (cp8 (N, C, H/8, W/8), cp16 (N, C, H/16, W/16))."""
        f8, f16, f32 = (features[f] for f in self.in_features)
        context = self.conv_avg(f32.mean((2, 3), keepdim=True))
        cp16 = self.arm32(f32) + context
        cp16 = self.conv_head32(F.interpolate(cp16, size=f16.shape[-2:], mode="nearest"))
        cp8 = self.arm16(f16) + cp16
        cp8 = self.conv_head16(F.interpolate(cp8, size=f8.shape[-2:], mode="nearest"))
        return cp8, cp16

    def layers(self, features: Dict[str, torch.Tensor], *, return_features: bool = False):
        """``features`` -> logits (N, K, H/8, W/8); with ``return_features`` also
        ``{"pre_classifier": (N, fuse_channels, H/8, W/8)}``."""
        cp8, _ = self.context_path(features)
        y = self.conv_out(self.ffm(features[self.in_features[0]], cp8))
        logits = self.predictor(y)
        return (logits, {"pre_classifier": y}) if return_features else logits

    def losses(self, predictions, targets, *, pixel_weights=None, loss_inputs=None, features=None):
        """The main loss (:class:`PerPixelLossMixin`), plus, given ``features`` in training, the
        auxiliary and detail losses."""
        out = PerPixelLossMixin.losses(
            self, predictions, targets, pixel_weights=pixel_weights, loss_inputs=loss_inputs
        )
        if features is None or not self.training:
            return out
        cp8, cp16 = self.context_path(features)
        for name, branch, x in (("aux16", self.conv_out16, cp8), ("aux32", self.conv_out32, cp16)):
            logits = branch(x)  # to the main logits' size: the loss then upsamples both alike
            if logits.shape[-2:] != predictions.shape[-2:]:
                logits = F.interpolate(
                    logits, size=predictions.shape[-2:], mode="bilinear", align_corners=True
                )
            aux = PerPixelLossMixin.losses(self, logits, targets, loss_inputs=loss_inputs)
            for key, value in aux.items():
                out[key.replace("loss_sem_seg", f"loss_sem_seg_{name}")] = self.aux_weight * value
        if self.detail_weight > 0:
            edge = F.interpolate(
                self.conv_out_sp8(features[self.in_features[0]]),
                size=targets.shape[-2:],
                mode="bilinear",
                align_corners=True,
            )
            target = detail_targets(targets, self.ignore_value)
            bce = F.binary_cross_entropy_with_logits(edge.float(), target)
            out["loss_detail_bce"] = self.detail_weight * bce
            out["loss_detail_dice"] = self.detail_weight * dice_loss(edge.float(), target)
        return out
