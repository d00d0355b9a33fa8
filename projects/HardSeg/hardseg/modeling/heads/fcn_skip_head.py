"""Classic FCN-32s / 16s / 8s (Long, Shelhamer & Darrell, CVPR 2015; official Caffe models in
shelhamer/fcn.berkeleyvision.org, ``voc-fcn8s/net.py``): class scores from fc7, fused with scores
from pool4 and pool3 through learned, bilinear-initialised deconvolutions."""

from typing import Dict, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.layers import ShapeSpec
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY

from ._common import as_shape_specs, check_in_features, loss_args_from_config
from .per_pixel import PerPixelLossMixin


def bilinear_kernel(channels: int, kernel_size: int) -> torch.Tensor:
    """(channels, channels, k, k) weight of a transposed conv that upsamples each channel
    bilinearly by ``k // 2`` (stride k/2, padding k/4): the classic FCN deconvolution init."""
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    og = torch.arange(kernel_size, dtype=torch.float32)
    filt = 1 - (og - center).abs() / factor
    kernel = filt[:, None] * filt[None, :]
    weight = torch.zeros(channels, channels, kernel_size, kernel_size)
    weight[range(channels), range(channels)] = kernel
    return weight


def bilinear_deconv(channels: int, factor: int, learnable: bool = True) -> nn.ConvTranspose2d:
    """Transposed conv (kernel 2f, stride f, padding f/2, no bias) that maps (h, w) to exactly
    (f h, f w), initialised as bilinear upsampling; frozen unless ``learnable``."""
    deconv = nn.ConvTranspose2d(
        channels, channels, 2 * factor, stride=factor, padding=factor // 2, bias=False
    )
    if deconv.weight.device.type != "meta":
        with torch.no_grad():
            deconv.weight.copy_(bilinear_kernel(channels, 2 * factor))
    deconv.weight.requires_grad_(learnable)
    return deconv


@SEM_SEG_HEADS_REGISTRY.register()
class FCNSkipHead(PerPixelLossMixin, nn.Module):
    """FCN's score-and-fuse decoder on three backbone features (VGG-16: ``res3`` = pool3 at 1/8,
    ``res4`` = pool4 at 1/16, ``fc7`` at 1/32).

    * ``predictor`` (1x1, "score_fr"): fc7 -> K scores at 1/32;
    * FCN-32s (``output_stride`` 32): deconvolve x32 to full size;
    * FCN-16s: deconvolve x2, add the 1x1 pool4 scores, deconvolve x16;
    * FCN-8s: deconvolve x2, add pool4 scores, deconvolve x2, add pool3 scores, deconvolve x8.

    Deconvolutions are bilinear-initialised and learned (``learn_upsample``; FCN froze the last one
    in practice). The skip scores are zero-initialised as in FCN's staged training. Logits come out
    at stride 1 (``common_stride`` 1), for inputs padded to a multiple of 32.
    """

    @configurable
    def __init__(
        self,
        input_shape: Dict[str, ShapeSpec],
        *,
        num_classes: int,
        in_features: Sequence[str] = ("res3", "res4", "fc7"),
        output_stride: int = 8,
        learn_upsample: bool = True,
        loss_type="cross_entropy",
        loss_weight: float = 1.0,
        ignore_value: int = 255,
    ):
        """
        Args:
            input_shape: backbone output shapes.
            num_classes: K.
            in_features: (pool3, pool4, fc7) feature names, strides 8, 16, 32.
            output_stride: 32, 16 or 8 (FCN-32s / 16s / 8s): the finest score map fused.
            learn_upsample: whether the deconvolutions are trained.
            loss_type, loss_weight, ignore_value: the loss (see ``PerPixelLossMixin``).
        """
        super().__init__()
        input_shape = as_shape_specs(input_shape)
        if len(in_features) != 3:
            raise ValueError(
                f"FCNSkipHead reads (pool3, pool4, fc7); MODEL.SEM_SEG_HEAD.IN_FEATURES = "
                f"{list(in_features)}."
            )
        check_in_features("FCNSkipHead", in_features, input_shape)
        if output_stride not in (8, 16, 32):
            raise ValueError(
                f"MODEL.SEM_SEG_HEAD.FCN_OUTPUT_STRIDE must be 8, 16 or 32, got {output_stride!r}."
            )
        self.in_features = list(in_features)
        self.output_stride = output_stride
        self.common_stride = 1
        self.init_loss(loss_type, loss_weight, ignore_value)
        pool3, pool4, fc7 = (input_shape[f].channels for f in in_features)
        k = num_classes
        self.predictor = nn.Conv2d(fc7, k, 1)
        nn.init.zeros_(self.predictor.weight), nn.init.zeros_(self.predictor.bias)
        if output_stride <= 16:
            self.score_pool4 = nn.Conv2d(pool4, k, 1)
            self.up_fc7 = bilinear_deconv(k, 2, learn_upsample)
            nn.init.zeros_(self.score_pool4.weight), nn.init.zeros_(self.score_pool4.bias)
        if output_stride == 8:
            self.score_pool3 = nn.Conv2d(pool3, k, 1)
            self.up_pool4 = bilinear_deconv(k, 2, learn_upsample)
            nn.init.zeros_(self.score_pool3.weight), nn.init.zeros_(self.score_pool3.bias)
        self.up_final = bilinear_deconv(k, output_stride, learn_upsample)

    @classmethod
    def from_config(cls, cfg, input_shape):
        h = cfg.MODEL.SEM_SEG_HEAD
        return {
            "input_shape": input_shape,
            "in_features": list(h.IN_FEATURES),
            "output_stride": h.FCN_OUTPUT_STRIDE,
            "learn_upsample": h.LEARN_UPSAMPLE,
            **loss_args_from_config(cfg),
        }

    @property
    def feature_channels(self) -> Dict[str, int]:
        """``head_input``: the levels the scores are read from, concatenated (CAC's X,
        docs/methods/cac.md §2); ``pre_classifier``: fc7."""
        return {
            "head_input": sum(self._level_channels),
            "pre_classifier": self.predictor.in_channels,
        }

    @property
    def _level_channels(self):
        convs = [self.predictor]
        if self.output_stride <= 16:
            convs.insert(0, self.score_pool4)
        if self.output_stride == 8:
            convs.insert(0, self.score_pool3)
        return [c.in_channels for c in convs]

    def layers(self, features: Dict[str, torch.Tensor], *, return_features: bool = False):
        """features: pool3 (N, C3, H/8, W/8), pool4 (N, C4, H/16, W/16), fc7 (N, C7, H/32, W/32)
        -> sem_seg_logits (N, K, H, W); with ``return_features``, also ``{"head_input":
        (N, sum C, H/s, W/s), "pre_classifier": fc7}``, s = the output stride and head_input the
        levels scored (pool3 / pool4 / fc7 as s = 8 / 16 / 32 needs) resized bilinearly to H/s
        and concatenated."""
        pool3, pool4, fc7 = (features[f] for f in self.in_features)
        y = self.predictor(fc7)
        if self.output_stride <= 16:
            y = self.up_fc7(y) + self.score_pool4(pool4)
        if self.output_stride == 8:
            y = self.up_pool4(y) + self.score_pool3(pool3)
        logits = self.up_final(y)
        if not return_features:
            return logits
        levels = {8: [pool3, pool4, fc7], 16: [pool4, fc7], 32: [fc7]}[self.output_stride]
        size = levels[0].shape[-2:]
        x = torch.cat(
            [levels[0]]
            + [
                F.interpolate(v, size=size, mode="bilinear", align_corners=False)
                for v in levels[1:]
            ],
            dim=1,
        )
        return logits, {"head_input": x, "pre_classifier": fc7}
