"""GCN, "Large Kernel Matters" (Peng, Zhang, Yu, Luo & Sun, CVPR 2017, Figure 2): global
convolution (GC) and boundary refinement (BR) on every ResNet stage, fused top-down with
deconvolutions. No official code; yassouali/pytorch-segmentation ``models/gcn.py`` is the common
PyTorch re-implementation."""

from typing import Dict, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.layers import ShapeSpec
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY

from ._common import as_shape_specs, check_in_features, loss_args_from_config
from .fcn_skip_head import bilinear_deconv
from .per_pixel import PerPixelLossMixin


class GlobalConv(nn.Module):
    """A k x k receptive field from separable large kernels: (k x 1 then 1 x k) + (1 x k then
    k x 1), summed; no norm or activation (the paper's GC block). (N, cin, h, w) -> (N, cout, h, w).
    """

    def __init__(self, cin: int, cout: int, k: int = 15):
        super().__init__()
        if k % 2 == 0:
            raise ValueError(f"MODEL.SEM_SEG_HEAD.GCN_KERNEL_SIZE must be odd, got {k}.")
        p = k // 2
        self.left = nn.Sequential(
            nn.Conv2d(cin, cout, (k, 1), padding=(p, 0)),
            nn.Conv2d(cout, cout, (1, k), padding=(0, p)),
        )
        self.right = nn.Sequential(
            nn.Conv2d(cin, cout, (1, k), padding=(0, p)),
            nn.Conv2d(cout, cout, (k, 1), padding=(p, 0)),
        )

    def forward(self, x):
        return self.left(x) + self.right(x)


class BoundaryRefine(nn.Module):
    """x + conv3x3(relu(conv3x3(x))), the paper's BR block (channels kept)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(x)))


@SEM_SEG_HEADS_REGISTRY.register()
class GCNHead(PerPixelLossMixin, nn.Module):
    """On features res2..res5 (strides 4..32):

    * per level i: ``s_i = BR(GC_k(res_i))`` (``channels`` score maps; the paper uses K);
    * top-down: ``y = up(s_5)``; for i = 4, 3, 2: ``y = up(BR(y + s_i))`` with learned,
      bilinear-initialised x2 deconvolutions (an upsampled map of another size is resized to the
      skip's size); then ``y = BR(up(BR(y)))`` reaches full resolution;
    * ``predictor`` 1x1 -> K logits at stride 1 (``common_stride`` 1).
    """

    @configurable
    def __init__(
        self,
        input_shape: Dict[str, ShapeSpec],
        *,
        num_classes: int,
        in_features: Sequence[str] = ("res2", "res3", "res4", "res5"),
        channels: int = 21,
        kernel_size: int = 15,
        loss_type="cross_entropy",
        loss_weight: float = 1.0,
        ignore_value: int = 255,
    ):
        super().__init__()
        input_shape = as_shape_specs(input_shape)
        check_in_features("GCNHead", in_features, input_shape)
        self.in_features = list(in_features)
        n = len(in_features)
        self.init_loss(loss_type, loss_weight, ignore_value)
        self.gcn = nn.ModuleList(
            GlobalConv(input_shape[f].channels, channels, kernel_size) for f in in_features
        )
        self.br = nn.ModuleList(BoundaryRefine(channels) for _ in range(n))
        self.br_fuse = nn.ModuleList(BoundaryRefine(channels) for _ in range(n - 1))
        self.up = nn.ModuleList(bilinear_deconv(channels, 2) for _ in range(n))
        finest = input_shape[in_features[0]].stride
        self.common_stride = 1 if finest >= 4 else finest
        self.br_final = BoundaryRefine(channels)
        self.up_final = bilinear_deconv(channels, 2)
        self.br_out = BoundaryRefine(channels)
        self.predictor = nn.Conv2d(channels, num_classes, 1)
        if finest != 4:
            raise ValueError(
                f"GCNHead's two final x2 deconvolutions expect the finest feature at stride 4; "
                f"{in_features[0]!r} has stride {finest}."
            )

    @classmethod
    def from_config(cls, cfg, input_shape):
        h = cfg.MODEL.SEM_SEG_HEAD
        return {
            "input_shape": input_shape,
            "in_features": list(h.IN_FEATURES),
            "channels": h.CHANNELS,
            "kernel_size": h.GCN_KERNEL_SIZE,
            **loss_args_from_config(cfg),
        }

    def layers(self, features: Dict[str, torch.Tensor], *, return_features: bool = False):
        """res2 (N, C2, H/4, W/4) .. res5 (N, C5, H/32, W/32) -> logits (N, K, H, W)."""
        scores = [br(gcn(features[f])) for f, gcn, br in zip(self.in_features, self.gcn, self.br)]
        y = self.up[-1](scores[-1])
        for i in range(len(scores) - 2, -1, -1):
            skip = scores[i]
            if y.shape[-2:] != skip.shape[-2:]:
                y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            y = self.up[i](self.br_fuse[i](y + skip))
        y = self.br_out(self.up_final(self.br_final(y)))
        logits = self.predictor(y)
        return (logits, {"pre_classifier": y}) if return_features else logits
