"""ENet (Paszke, Chaurasia, Kim & Culurciello 2016, "ENet: A Deep Neural Network Architecture for
Real-Time Semantic Segmentation", Table 1), laid out as davidtvs/PyTorch-ENet ``models/enet.py``.
The whole network is one head behind :class:`~hardseg.modeling.backbone.identity.IdentityBackbone`
so that the max-pool indices of the downsampling bottlenecks stay inside it."""

from typing import Dict

import torch
from torch import nn
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.layers import ShapeSpec
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY

from ._common import as_shape_specs, check_in_features, loss_args_from_config
from .per_pixel import PerPixelLossMixin


def _cbr(cin, cout, kernel, *, stride=1, padding=0, dilation=1, relu=False):
    """Conv (no bias) + BN + PReLU (encoder) or ReLU (decoder)."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU() if relu else nn.PReLU(),
    )


class InitialBlock(nn.Module):
    """3x3 stride-2 conv to ``cout - cin`` channels beside a 2x2 max-pool of the input,
    concatenated (``cout`` channels at 1/2), BN, PReLU."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout - cin, 3, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.PReLU()

    def forward(self, x):
        return self.act(self.bn(torch.cat([self.conv(x), F.max_pool2d(x, 2, 2)], dim=1)))


class Bottleneck(nn.Module):
    """Residual bottleneck at constant size (internal width ``channels // 4``): 1x1 reduce, then a
    3x3 conv (``dilation``), or with ``asymmetric`` k a k x 1 and a 1 x k conv; 1x1 expand, spatial
    dropout, sum with the input, activation."""

    def __init__(self, channels, *, dilation=1, asymmetric=0, dropout=0.1, relu=False):
        super().__init__()
        mid = channels // 4
        if asymmetric:
            k = asymmetric
            middle = nn.Sequential(
                _cbr(mid, mid, (k, 1), padding=(k // 2, 0), relu=relu),
                _cbr(mid, mid, (1, k), padding=(0, k // 2), relu=relu),
            )
        else:
            middle = _cbr(mid, mid, 3, padding=dilation, dilation=dilation, relu=relu)
        self.ext = nn.Sequential(
            _cbr(channels, mid, 1, relu=relu),
            middle,
            _cbr(mid, channels, 1, relu=relu),
            nn.Dropout2d(dropout),
        )
        self.act = nn.ReLU() if relu else nn.PReLU()

    def forward(self, x):
        return self.act(x + self.ext(x))


class DownBottleneck(nn.Module):
    """Halves the size: main branch 2x2 max-pool (indices kept) zero-padded from ``cin`` to
    ``cout`` channels; extension 2x2 stride-2 conv to ``cout // 4`` (the paper's projection ratio
    on the output width, as the original Torch code; PyTorch-ENet uses ``cin // 4``), 3x3 conv,
    1x1 expand, dropout. Returns ``(output, indices)``."""

    def __init__(self, cin, cout, *, dropout=0.1):
        super().__init__()
        mid = cout // 4
        self.ext = nn.Sequential(
            _cbr(cin, mid, 2, stride=2),
            _cbr(mid, mid, 3, padding=1),
            _cbr(mid, cout, 1),
            nn.Dropout2d(dropout),
        )
        self.act = nn.PReLU()
        self.extra_channels = cout - cin

    def forward(self, x):
        main, idx = F.max_pool2d(x, 2, 2, return_indices=True)
        main = F.pad(main, [0, 0, 0, 0, 0, self.extra_channels])
        return self.act(main + self.ext(x)), idx


class UpBottleneck(nn.Module):
    """Doubles the size: main branch 1x1 conv + BN to ``cout`` then max-unpool with the matching
    encoder indices; extension 1x1 reduce, 2x2 stride-2 transposed conv, 1x1 expand, dropout."""

    def __init__(self, cin, cout, *, dropout=0.1):
        super().__init__()
        mid = cin // 4
        self.main = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.ext = nn.Sequential(
            _cbr(cin, mid, 1, relu=True),
            nn.ConvTranspose2d(mid, mid, 2, stride=2, bias=False),
            nn.BatchNorm2d(mid),
            nn.ReLU(),
            nn.Conv2d(mid, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
            nn.Dropout2d(dropout),
        )
        self.act = nn.ReLU()

    def forward(self, x, idx, size):
        main = F.max_unpool2d(self.main(x), idx, 2, 2, output_size=size)
        return self.act(main + self.ext(x))


def _stage23(channels, dropout):
    """Bottlenecks x.1 .. x.8 of stages 2 and 3 (Table 1): regular, dilated 2, asymmetric 5,
    dilated 4, regular, dilated 8, asymmetric 5, dilated 16."""
    kinds = [{}, {"dilation": 2}, {"asymmetric": 5}, {"dilation": 4}, {}, {"dilation": 8},
             {"asymmetric": 5}, {"dilation": 16}]  # fmt: skip
    return nn.Sequential(*(Bottleneck(channels, dropout=dropout, **k) for k in kinds))


@SEM_SEG_HEADS_REGISTRY.register()
class ENetHead(PerPixelLossMixin, nn.Module):
    """ENet with widths 16 / 64 / 128 (times ``base_channels / 16``):

    * initial block (1/2, 16); stage 1: downsampling bottleneck (1/4, 64) + 4 regular
      (dropout 0.01); stages 2 and 3: downsampling (1/8, 128, stage 2 only) + 8 bottlenecks with
      dilations 2/4/8/16 and asymmetric 5x1 | 1x5 convs (dropout 0.1);
    * stage 4: upsampling bottleneck (max-unpool with stage 2's indices, 1/4, 64) + 2 regular;
      stage 5: upsampling (stage 1's indices, 1/2, 16) + 1 regular (ReLU in the decoder);
    * ``predictor``: a 3x3 conv to K at 1/2 (``common_stride`` 2; logits are upsampled
      bilinearly). ENet's last layer is a 3x3 stride-2 transposed conv to K; a plain conv at 1/2
      keeps the classifier an ``nn.Conv2d``, as HardSeg's wrapper heads expect, with K x 16 x 9
      weights in both.

    Input ``features["image"]`` (N, 3, H, W), H and W multiples of 8.
    """

    @configurable
    def __init__(
        self,
        input_shape: Dict[str, ShapeSpec],
        *,
        num_classes: int,
        in_feature: str = "image",
        base_channels: int = 16,
        loss_type="cross_entropy",
        loss_weight: float = 1.0,
        ignore_value: int = 255,
    ):
        super().__init__()
        input_shape = as_shape_specs(input_shape)
        check_in_features("ENetHead", [in_feature], input_shape)
        if base_channels % 4 or base_channels <= input_shape[in_feature].channels:
            raise ValueError(
                f"MODEL.ENET.BASE_CHANNELS must be a multiple of 4 above the input's channels, "
                f"got {base_channels}."
            )
        self.in_feature = in_feature
        self.common_stride = input_shape[in_feature].stride * 2
        self.init_loss(loss_type, loss_weight, ignore_value)
        c1, c2, c3 = base_channels, base_channels * 4, base_channels * 8
        self.initial = InitialBlock(input_shape[in_feature].channels, c1)
        self.down1 = DownBottleneck(c1, c2, dropout=0.01)
        self.stage1 = nn.Sequential(*(Bottleneck(c2, dropout=0.01) for _ in range(4)))
        self.down2 = DownBottleneck(c2, c3, dropout=0.1)
        self.stage2 = _stage23(c3, 0.1)
        self.stage3 = _stage23(c3, 0.1)
        self.up4 = UpBottleneck(c3, c2, dropout=0.1)
        self.stage4 = nn.Sequential(*(Bottleneck(c2, dropout=0.1, relu=True) for _ in range(2)))
        self.up5 = UpBottleneck(c2, c1, dropout=0.1)
        self.stage5 = Bottleneck(c1, dropout=0.1, relu=True)
        self.predictor = nn.Conv2d(c1, num_classes, 3, padding=1)

    @classmethod
    def from_config(cls, cfg, input_shape):
        return {
            "input_shape": input_shape,
            "in_feature": cfg.MODEL.SEM_SEG_HEAD.IN_FEATURES[0],
            "base_channels": cfg.MODEL.ENET.BASE_CHANNELS,
            **loss_args_from_config(cfg),
        }

    def layers(self, features: Dict[str, torch.Tensor], *, return_features: bool = False):
        """features["image"] (N, 3, H, W) -> sem_seg_logits (N, K, H/2, W/2)."""
        x = self.initial(features[self.in_feature])
        size1 = tuple(int(s) for s in x.shape[-2:])  # ints, also under tracing (fvcore)
        x, idx1 = self.down1(x)
        x = self.stage1(x)
        size2 = tuple(int(s) for s in x.shape[-2:])
        x, idx2 = self.down2(x)
        x = self.stage3(self.stage2(x))
        x = self.stage4(self.up4(x, idx2, size2))
        x = self.stage5(self.up5(x, idx1, size1))
        logits = self.predictor(x)
        return (logits, {"pre_classifier": x}) if return_features else logits
