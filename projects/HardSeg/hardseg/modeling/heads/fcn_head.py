"""FCN head (mmseg's ``FCNHead``): the PSPNet family's auxiliary head on res4, or a decode head."""

import inspect
from typing import Dict, Optional

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
class FCNHead(PerPixelLossMixin, nn.Module):
    """``num_convs`` 3x3 convs (``channels``, norm, ReLU) on one feature (N, C, h, w); with
    ``concat_input``, a 3x3 conv on [input, their output]; Dropout2d; 1x1 ``predictor`` ->
    ``sem_seg_logits`` (N, K, h, w). As the PSPNet auxiliary head: res4, 1 conv of 256 channels,
    no concatenation, loss weight 0.4 (see ``MODEL.AUX_HEAD``). Per-pixel head contract as
    :class:`~hardseg.modeling.heads.PSPNetHead`."""

    @configurable
    def __init__(
        self,
        input_shape: Dict[str, ShapeSpec],
        *,
        num_classes: int,
        in_feature: str = "res4",
        channels: int = 256,
        num_convs: int = 1,
        concat_input: bool = False,
        dropout: float = 0.1,
        norm: str = "BN",
        align_corners: bool = False,
        loss_type="cross_entropy",
        loss_weight: float = 1.0,
        ignore_value: int = 255,
        predictor_init_std: float = 0.01,
    ):
        """Arguments as :class:`PSPNetHead`'s, plus ``num_convs`` (>= 0) and ``concat_input``."""
        super().__init__()
        input_shape = as_shape_specs(input_shape)
        if in_feature not in input_shape:
            raise ValueError(
                f"FCNHead reads {in_feature!r} but the backbone gives {sorted(input_shape)}; "
                "add it to MODEL.RESNETS.OUT_FEATURES."
            )
        if num_convs < 0 or (num_convs == 0 and concat_input):
            raise ValueError(
                f"FCNHead: num_convs = {num_convs} with concat_input = {concat_input}; need "
                "num_convs >= 0, and >= 1 when concatenating the input."
            )
        in_channels = input_shape[in_feature].channels
        self.in_feature = in_feature
        self.align_corners = align_corners
        self.common_stride = input_shape[in_feature].stride
        self.init_loss(loss_type, loss_weight, ignore_value)

        use_bias = norm == ""

        def conv3x3(cin):
            return Conv2d(
                cin,
                channels,
                kernel_size=3,
                padding=1,
                bias=use_bias,
                norm=get_norm(norm, channels),
                activation=F.relu,
            )

        self.convs = nn.ModuleList(
            conv3x3(in_channels if i == 0 else channels) for i in range(num_convs)
        )
        self.conv_cat = conv3x3(in_channels + channels) if concat_input else None
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        self.predictor = nn.Conv2d(channels if num_convs else in_channels, num_classes, 1)
        for conv in [*self.convs, self.conv_cat]:
            if conv is not None:
                weight_init.c2_msra_fill(conv)
        init_predictor(self.predictor, predictor_init_std)

    @classmethod
    def from_config(cls, cfg, input_shape, node: str = "SEM_SEG_HEAD"):
        """``node``: "SEM_SEG_HEAD" (decode head) or "AUX_HEAD" (see ``head_args_from_config``)."""
        ret = head_args_from_config(cfg, input_shape, cls.__name__, node)
        ret["num_convs"] = cfg.MODEL[node].NUM_CONVS
        ret["concat_input"] = cfg.MODEL[node].CONCAT_INPUT
        return ret

    def layers(self, features: Dict[str, torch.Tensor], *, return_features: bool = False):
        """features[in_feature] (N, C, h, w) -> sem_seg_logits (N, K, h, w); with
        ``return_features``, ``(logits, {"pre_classifier": ...})``, the predictor's input."""
        x = features[self.in_feature]
        y = x
        for conv in self.convs:
            y = conv(y)
        if self.conv_cat is not None:
            y = self.conv_cat(torch.cat([x, y], dim=1))
        y = self.dropout(y)
        logits = self.predictor(y)
        return (logits, {"pre_classifier": y}) if return_features else logits


def build_aux_head(cfg, input_shape: Dict[str, ShapeSpec]) -> Optional[nn.Module]:
    """The auxiliary head of ``MODEL.AUX_HEAD`` (None when ``NAME`` is ""): the registered head
    built with ``node="AUX_HEAD"``, so that it reads ``MODEL.AUX_HEAD`` (IN_FEATURES, CHANNELS,
    NUM_CONVS, CONCAT_INPUT, DROPOUT, LOSS_WEIGHT, LOSS_TYPE); class count, norm, ignore value and
    align_corners are the decode head's."""
    aux = cfg.MODEL.AUX_HEAD
    if not aux.NAME:
        return None
    build = SEM_SEG_HEADS_REGISTRY.get(aux.NAME)
    from_config = getattr(build, "from_config", None)
    if from_config is None or "node" not in inspect.signature(from_config).parameters:
        raise ValueError(
            f"MODEL.AUX_HEAD.NAME={aux.NAME!r}: an auxiliary head must read MODEL.AUX_HEAD, i.e. "
            "have a from_config(cfg, input_shape, node) as FCNHead and PSPNetHead do."
        )
    head = build(cfg, input_shape, node="AUX_HEAD")
    needed = getattr(head, "required_loss_inputs", ())
    if needed:
        raise ValueError(
            f"MODEL.AUX_HEAD.LOSS_TYPE={aux.LOSS_TYPE!r} needs {list(needed)} from the data "
            "mapper, which only the decode head receives; give the auxiliary head a loss without "
            "extra inputs (e.g. 'cross_entropy', 'focal', 'ohem_cross_entropy') and put the "
            "distance-map loss in MODEL.SEM_SEG_HEAD.LOSSES."
        )
    return head
