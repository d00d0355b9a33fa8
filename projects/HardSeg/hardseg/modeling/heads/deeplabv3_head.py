"""DeepLabV3 (Chen, Papandreou, Schroff & Adam 2017, "Rethinking Atrous Convolution") under
HardSeg's per-pixel head contract. detectron2's ``projects/DeepLab`` ``DeepLabV3Head`` reads the
config directly and has no ``layers()`` / ``pixel_loss()``; this head reuses detectron2's
``ASPP`` layer and defaults to global image pooling, which works for any input size."""

from typing import Dict, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.layers import ASPP, Conv2d, ShapeSpec, get_norm
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY

from ._common import as_shape_specs, check_in_features, loss_args_from_config
from .per_pixel import PerPixelLossMixin


@SEM_SEG_HEADS_REGISTRY.register()
class DeepLabV3PerPixelHead(PerPixelLossMixin, nn.Module):
    """On one feature (N, C, h, w) at stride s (8 or 16): ASPP (1x1 conv, three 3x3 atrous convs
    with ``dilations``, image pooling, each -> ``channels`` + norm + ReLU; concat; 1x1 projection;
    Dropout ``aspp_dropout``), ``num_convs`` 3x3 convs (norm, ReLU; torchvision's
    ``DeepLabHead`` has 1, detectron2's 0), ``predictor`` 1x1 -> K at stride s.

    ``pool_kernel_size`` None: global average pooling in the image branch (any input size); a
    (kh, kw) window reproduces detectron2's crop-size pooling (``MODEL.SEM_SEG_HEAD.ASPP_POOLING``
    "crop").
    """

    @configurable
    def __init__(
        self,
        input_shape: Dict[str, ShapeSpec],
        *,
        num_classes: int,
        in_feature: str = "res5",
        channels: int = 256,
        dilations: Sequence[int] = (6, 12, 18),
        aspp_dropout: float = 0.1,
        num_convs: int = 1,
        pool_kernel_size=None,
        norm: str = "BN",
        loss_type="cross_entropy",
        loss_weight: float = 1.0,
        ignore_value: int = 255,
        predictor_init_std: float = 0.001,
    ):
        super().__init__()
        input_shape = as_shape_specs(input_shape)
        check_in_features("DeepLabV3PerPixelHead", [in_feature], input_shape)
        if len(dilations) != 3:
            raise ValueError(
                f"MODEL.SEM_SEG_HEAD.ASPP_DILATIONS needs 3 rates, got {list(dilations)}."
            )
        self.in_feature = in_feature
        self.common_stride = input_shape[in_feature].stride
        self.init_loss(loss_type, loss_weight, ignore_value)
        self.aspp = ASPP(
            input_shape[in_feature].channels,
            channels,
            list(dilations),
            norm=norm,
            activation=F.relu,
            pool_kernel_size=pool_kernel_size,
            dropout=aspp_dropout,
        )
        self.convs = nn.Sequential(
            *(
                Conv2d(channels, channels, 3, padding=1, bias=norm == "",
                       norm=get_norm(norm, channels), activation=F.relu)  # fmt: skip
                for _ in range(num_convs)
            )
        )
        self.init_classifier(channels, num_classes, init_std=predictor_init_std)

    @classmethod
    def from_config(cls, cfg, input_shape):
        h = cfg.MODEL.SEM_SEG_HEAD
        stride = input_shape[h.IN_FEATURES[0]].stride if h.IN_FEATURES[0] in input_shape else 1
        pool = None
        if h.ASPP_POOLING == "crop":
            if not cfg.INPUT.CROP.ENABLED:
                raise ValueError(
                    "MODEL.SEM_SEG_HEAD.ASPP_POOLING = 'crop' needs INPUT.CROP.ENABLED; use "
                    "'global'."
                )
            pool = [s // stride for s in cfg.INPUT.CROP.SIZE]
        elif h.ASPP_POOLING != "global":
            raise ValueError(
                f"MODEL.SEM_SEG_HEAD.ASPP_POOLING must be 'global' or 'crop', got "
                f"{h.ASPP_POOLING!r}."
            )
        return {
            "input_shape": input_shape,
            "in_feature": h.IN_FEATURES[0],
            "channels": h.ASPP_CHANNELS,
            "dilations": list(h.ASPP_DILATIONS),
            "aspp_dropout": h.ASPP_DROPOUT,
            "num_convs": h.NUM_CONVS,
            "pool_kernel_size": pool,
            "norm": h.NORM,
            "predictor_init_std": h.PREDICTOR_INIT_STD,
            **loss_args_from_config(cfg),
        }

    def layers(self, features: Dict[str, torch.Tensor], *, return_features: bool = False):
        """features[in_feature] (N, C, h, w) -> sem_seg_logits (N, K, h, w)."""
        y = self.convs(self.aspp(features[self.in_feature]))
        logits = self.predictor(y)
        return (logits, {"pre_classifier": y}) if return_features else logits
