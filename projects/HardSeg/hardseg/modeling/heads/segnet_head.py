"""SegNet (Badrinarayanan, Kendall & Cipolla, TPAMI 2017; official Caffe model
alexgkendall/SegNet-Tutorial ``Models/segnet_train.prototxt``): a VGG-16-BN encoder whose max-pool
indices drive the max-unpooling of a mirrored decoder. The whole network is one head behind
:class:`~hardseg.modeling.backbone.identity.IdentityBackbone`, so the indices never leave it."""

from typing import Dict

import torch
from torch import nn
from torch.nn import functional as F

from detectron2.config import configurable
from detectron2.layers import Conv2d, ShapeSpec, get_norm
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY

from ..backbone.vgg import VGG16_STAGES, make_vgg_stages
from ._common import as_shape_specs, check_in_features, loss_args_from_config
from .per_pixel import PerPixelLossMixin


@SEM_SEG_HEADS_REGISTRY.register()
class SegNetHead(PerPixelLossMixin, nn.Module):
    """Encoder: the 13 convs of VGG-16 with BN (``encoder``, the same module names as
    :class:`~hardseg.modeling.backbone.vgg.VGG16Backbone`'s ``stages``), each stage followed by a
    2x2 max-pool that keeps its indices.

    Decoder, stage by stage from the bottom: max-unpool with the stage's indices, then the stage's
    convs mirrored (3x3 with bias, BN, ReLU; the last conv of a stage maps to the next stage's
    width). The last conv of the first decoder stage is the classifier ``predictor`` (3x3, K
    outputs, no BN), as conv1_1_D in SegNet-Tutorial. No skip features cross from encoder to decoder.

    Input ``features["image"]`` (N, 3, H, W), H and W multiples of 32 -> logits (N, K, H, W).
    """

    @configurable
    def __init__(
        self,
        input_shape: Dict[str, ShapeSpec],
        *,
        num_classes: int,
        in_feature: str = "image",
        base_channels: int = 64,
        norm: str = "BN",
        loss_type="cross_entropy",
        loss_weight: float = 1.0,
        ignore_value: int = 255,
    ):
        super().__init__()
        input_shape = as_shape_specs(input_shape)
        check_in_features("SegNetHead", [in_feature], input_shape)
        self.in_feature = in_feature
        self.common_stride = input_shape[in_feature].stride
        self.init_loss(loss_type, loss_weight, ignore_value)
        self.encoder = make_vgg_stages(base_channels, norm, input_shape[in_feature].channels)
        self.decoder = nn.ModuleList()
        widths = [[w * base_channels for w in stage] for stage in VGG16_STAGES]
        for s in range(len(widths) - 1, -1, -1):
            cout_last = widths[s - 1][-1] if s else None
            convs = []
            for j in range(len(widths[s])):
                cin = widths[s][-1]
                last = j == len(widths[s]) - 1
                if last and cout_last is None:
                    break  # the classifier below
                cout = cout_last if last else widths[s][-1]
                convs.append(
                    Conv2d(
                        cin,
                        cout,
                        3,
                        padding=1,
                        bias=True,
                        norm=get_norm(norm, cout),
                        activation=F.relu,
                    )
                )
            self.decoder.append(nn.Sequential(*convs))
        self.predictor = nn.Conv2d(widths[0][-1], num_classes, 3, padding=1)

    @classmethod
    def from_config(cls, cfg, input_shape):
        return {
            "input_shape": input_shape,
            "in_feature": cfg.MODEL.SEM_SEG_HEAD.IN_FEATURES[0],
            "base_channels": cfg.MODEL.SEGNET.BASE_CHANNELS,
            "norm": cfg.MODEL.SEGNET.NORM,
            **loss_args_from_config(cfg),
        }

    def layers(self, features: Dict[str, torch.Tensor], *, return_features: bool = False):
        """features["image"] (N, 3, H, W) -> sem_seg_logits (N, K, H, W)."""
        x = features[self.in_feature]
        pools = []
        for stage in self.encoder:
            x = stage(x)
            size = tuple(int(s) for s in x.shape[-2:])  # ints, also under tracing (fvcore)
            x, idx = F.max_pool2d(x, 2, stride=2, return_indices=True)
            pools.append((idx, size))
        for stage, (idx, size) in zip(self.decoder, reversed(pools)):
            x = stage(F.max_unpool2d(x, idx, 2, stride=2, output_size=size))
        logits = self.predictor(x)
        return (logits, {"pre_classifier": x}) if return_features else logits
