"""ResNet with hybrid dilated convolution (HDC, Wang et al. 2018, "Understanding Convolution for
Semantic Segmentation"; official code TuSimple/TuSimple-DUC): the blocks of a dilated stage cycle
through a saw-tooth list of dilation rates (e.g. 1, 2, 5, 9) instead of one rate, so that the
receptive fields of consecutive 3x3 convs cover every pixel (no "gridding")."""

from typing import Sequence

from torch import nn

from detectron2.modeling import BACKBONE_REGISTRY

from .resnet_dilated import _BLOCKS_PER_STAGE, make_resnet_dilated


def _set_dilation(conv: nn.Conv2d, dilation: int) -> None:
    conv.dilation = (dilation, dilation)
    conv.padding = (dilation, dilation)


def make_resnet_hdc(
    *, res4_dilations: Sequence[int] = (1, 2, 5, 9), res5_dilations=(5, 9, 17), **kwargs
):
    """An output-stride-8 ResNet (:func:`make_resnet_dilated` with res4/res5 dilations 2/4 and the
    other keyword arguments as given) whose res4 block j uses ``res4_dilations[j % len]`` and res5
    block j ``res5_dilations[j % len]`` in its 3x3 convs (padding = dilation keeps the size)."""
    for name, rates in (("RES4_DILATIONS", res4_dilations), ("RES5_DILATIONS", res5_dilations)):
        if not rates or any(int(r) < 1 for r in rates):
            raise ValueError(f"MODEL.HDC.{name} must be a non-empty list of rates >= 1: {rates}.")
    kwargs.update(res4_dilation=2, res5_dilation=4, contract_dilation=False)
    kwargs["res5_multi_grid"] = [1] * _BLOCKS_PER_STAGE.get(kwargs.get("depth"), (0, 0, 0, 3))[3]
    model = make_resnet_dilated(**kwargs)
    for stage_name, rates in (("res4", res4_dilations), ("res5", res5_dilations)):
        stage = getattr(model, stage_name, None)
        if stage is None:
            continue
        for j, block in enumerate(stage):
            rate = int(rates[j % len(rates)])
            for conv in (block.conv1, block.conv2, getattr(block, "conv3", None)):
                if conv is not None and conv.kernel_size == (3, 3):
                    _set_dilation(conv, rate)
    return model


@BACKBONE_REGISTRY.register()
def build_resnet_hdc_backbone(cfg, input_shape):
    """HDC ResNet: the ``MODEL.RESNETS`` keys of ``build_resnet_dilated_backbone`` (the dilation
    keys excepted: it is output stride 8) plus ``MODEL.HDC.{RES4_DILATIONS, RES5_DILATIONS}``."""
    r = cfg.MODEL.RESNETS
    return make_resnet_hdc(
        res4_dilations=list(cfg.MODEL.HDC.RES4_DILATIONS),
        res5_dilations=list(cfg.MODEL.HDC.RES5_DILATIONS),
        depth=r.DEPTH,
        norm=r.NORM,
        stem_type=r.STEM_TYPE,
        stem_out_channels=r.STEM_OUT_CHANNELS,
        res2_out_channels=r.RES2_OUT_CHANNELS,
        num_groups=r.NUM_GROUPS,
        width_per_group=r.WIDTH_PER_GROUP,
        stride_in_1x1=r.STRIDE_IN_1X1,
        size_divisibility=r.get("SIZE_DIVISIBILITY", 0),
        out_features=list(r.OUT_FEATURES),
        freeze_at=cfg.MODEL.BACKBONE.FREEZE_AT,
        in_channels=input_shape.channels if input_shape is not None else 3,
    )
