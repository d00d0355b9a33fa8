"""
Dilated ResNet backbones (depth 18, 34, 50, 101) for DeepLab-style semantic segmentation.

Why this module exists:

* ``detectron2.projects.deeplab.build_resnet_deeplab_backbone`` supports dilation, multi-grid
  and the DeepLab stem, but only for bottleneck depths (50/101/152).
* detectron2's core ``build_resnet_backbone`` supports R18/R34, but refuses any dilation for
  them (and forces ``RES2_OUT_CHANNELS == 64``), and has no RES4 dilation, no multi-grid and
  no DeepLab stem.

HardSeg needs a single builder covering all four depths, R18 being the CPU demo / test model
(it is also allowed to be made tiny through ``RES2_OUT_CHANNELS``). This module adds
:class:`DilatedBasicBlock` (the two-3x3-conv block with dilation) and the registered builder
:func:`build_resnet_dilated_backbone`, which returns detectron2's own
:class:`~detectron2.modeling.backbone.resnet.ResNet`, so freezing, ``output_shape()`` and
checkpoint key names behave exactly as for detectron2's ResNets.
"""

import fvcore.nn.weight_init as weight_init
import torch.nn.functional as F

from detectron2.layers import CNNBlockBase, Conv2d, get_norm
from detectron2.modeling import BACKBONE_REGISTRY
from detectron2.modeling.backbone.resnet import BasicBlock, BasicStem, BottleneckBlock, ResNet
from detectron2.projects.deeplab.resnet import DeepLabStem

__all__ = [
    "BasicStemCeilPool",
    "DeepLabStemCeilPool",
    "DilatedBasicBlock",
    "DilatedResNet",
    "build_resnet_dilated_backbone",
    "make_resnet_dilated",
]

# Number of residual blocks in res2..res5 for every supported depth.
_BLOCKS_PER_STAGE = {
    18: [2, 2, 2, 2],
    34: [3, 4, 6, 3],
    50: [3, 4, 6, 3],
    101: [3, 4, 23, 3],
}
_BASIC_DEPTHS = (18, 34)
_STEM_TYPES = ("basic", "deeplab")
_STAGE_INDEX = {"stem": 1, "res2": 2, "res3": 3, "res4": 4, "res5": 5}


class DilatedBasicBlock(CNNBlockBase):
    """
    The ResNet-18/34 basic residual block (two 3x3 convs) with optional dilation.

    The first conv carries the stride; both 3x3 convs use ``dilation`` with ``padding =
    dilation`` so that, for stride 1, the spatial size is preserved. A 1x1 projection
    shortcut (with norm) is used when the input/output channels or the stride differ.
    With ``dilation=1`` it is equivalent to detectron2's
    :class:`~detectron2.modeling.backbone.resnet.BasicBlock` (same parameter names).
    """

    def __init__(self, in_channels, out_channels, *, stride=1, dilation=1, norm="BN"):
        """
        Args:
            in_channels (int): number of input channels.
            out_channels (int): number of output channels.
            stride (int): stride of the first 3x3 conv (and of the shortcut).
            dilation (int): dilation of both 3x3 convs.
            norm (str or callable): normalization for all conv layers.
                See :func:`detectron2.layers.get_norm` for supported formats.
        """
        super().__init__(in_channels, out_channels, stride)

        if in_channels != out_channels or stride != 1:
            self.shortcut = Conv2d(
                in_channels,
                out_channels,
                kernel_size=1,
                stride=stride,
                bias=False,
                norm=get_norm(norm, out_channels),
            )
        else:
            self.shortcut = None

        self.conv1 = Conv2d(
            in_channels,
            out_channels,
            kernel_size=3,
            stride=stride,
            padding=dilation,
            dilation=dilation,
            bias=False,
            norm=get_norm(norm, out_channels),
        )
        self.conv2 = Conv2d(
            out_channels,
            out_channels,
            kernel_size=3,
            stride=1,
            padding=dilation,
            dilation=dilation,
            bias=False,
            norm=get_norm(norm, out_channels),
        )

        for layer in (self.conv1, self.conv2, self.shortcut):
            if layer is not None:
                weight_init.c2_msra_fill(layer)

    def forward(self, x):
        out = self.conv1(x)
        out = F.relu_(out)
        out = self.conv2(out)
        shortcut = x if self.shortcut is None else self.shortcut(x)
        out += shortcut
        out = F.relu_(out)
        return out


class DeepLabStemCeilPool(DeepLabStem):
    """detectron2's :class:`DeepLabStem` (three 3x3 convs, the first with stride 2) whose 3x3
    stride-2 max-pool (padding 1) rounds its output size up (``ceil_mode=True``), as the deep-stem
    ResNet of the official U2PL code (Haochen-Wang409/U2PL @ab3d2be, ``u2pl/models/resnet.py``).
    Same parameters and checkpoint keys as ``DeepLabStem``.

    Shapes: (N, C_in, H, W) -> (N, C, stem_size(H), stem_size(W)) with c = ceil(H / 2) the size
    after the stride-2 conv and stem_size(H) = floor(c / 2) + 1, where floor mode gives
    ceil(c / 2): the same for odd c (H = 769 -> 193, H = 513 -> 129), one more for even c
    (H = 772 -> 194 instead of 193, H = 1024 -> 257 instead of 256).
    """

    def forward(self, x):
        for conv in (self.conv1, self.conv2, self.conv3):
            x = F.relu_(conv(x))
        return F.max_pool2d(x, kernel_size=3, stride=2, padding=1, ceil_mode=True)


class BasicStemCeilPool(BasicStem):
    """detectron2's :class:`BasicStem` (7x7 stride-2 conv) with the ceil-mode max-pool of
    :class:`DeepLabStemCeilPool` (same sizes); same parameters and checkpoint keys."""

    def forward(self, x):
        x = F.relu_(self.conv1(x))
        return F.max_pool2d(x, kernel_size=3, stride=2, padding=1, ceil_mode=True)


_STEM_CLASSES = {
    ("basic", False): BasicStem,
    ("basic", True): BasicStemCeilPool,
    ("deeplab", False): DeepLabStem,
    ("deeplab", True): DeepLabStemCeilPool,
}


class DilatedResNet(ResNet):
    """detectron2's :class:`ResNet` with a settable ``size_divisibility`` (0: none, the ResNet
    default): the meta-architecture pads images and labels (with the ignore value) to a multiple
    of it, e.g. 4 so that a 769x769 crop becomes 772x772 and stride-4 logits times 4 match the
    labels. Same parameters and checkpoint keys as ``ResNet``.

    :attr:`stem_pool_ceil_mode` is True when the stem's max-pool is ceil-mode
    (:class:`DeepLabStemCeilPool`, :class:`BasicStemCeilPool`): the stride-4 grid then has
    ``floor(ceil(H / 2) / 2) + 1`` rows, one more than H / 4 for H a multiple of 4, so logits
    upsampled x4 are larger than the input. :class:`HardSegmentor` then resizes the logits to the
    input size at inference (as the official U2PL code does) instead of upsampling x4 and
    cropping."""

    def __init__(self, stem, stages, out_features=None, size_divisibility: int = 0):
        super().__init__(stem, stages, out_features=out_features)
        if size_divisibility < 0:
            raise ValueError(
                f"MODEL.RESNETS.SIZE_DIVISIBILITY must be >= 0, got {size_divisibility}."
            )
        self._size_divisibility = int(size_divisibility)

    @property
    def size_divisibility(self) -> int:
        return self._size_divisibility

    @property
    def stem_pool_ceil_mode(self) -> bool:
        return isinstance(self.stem, (DeepLabStemCeilPool, BasicStemCeilPool))


def _check_dilations(res4_dilation, res5_dilation):
    if res4_dilation not in (1, 2):
        raise ValueError(f"MODEL.RESNETS.RES4_DILATION must be 1 or 2, got {res4_dilation!r}.")
    if res5_dilation not in (1, 2, 4):
        raise ValueError(f"MODEL.RESNETS.RES5_DILATION must be 1, 2 or 4, got {res5_dilation!r}.")
    if res4_dilation == 2 and res5_dilation != 4:
        raise ValueError(
            "MODEL.RESNETS.RES4_DILATION = 2 (output stride 8) requires "
            f"MODEL.RESNETS.RES5_DILATION = 4, got RES5_DILATION = {res5_dilation!r}."
        )


def _check_multi_grid(multi_grid, num_res5_blocks, depth):
    multi_grid = list(multi_grid)
    if len(multi_grid) != num_res5_blocks:
        raise ValueError(
            f"MODEL.RESNETS.RES5_MULTI_GRID = {multi_grid} has {len(multi_grid)} entries, but "
            f"res5 of ResNet-{depth} has {num_res5_blocks} blocks; give one factor per block "
            f"(e.g. {[1] * num_res5_blocks} for no multi-grid)."
        )
    for m in multi_grid:
        if isinstance(m, bool) or not isinstance(m, int) or m < 1:
            raise ValueError(
                f"MODEL.RESNETS.RES5_MULTI_GRID entries must be positive integers, "
                f"got {multi_grid}."
            )
    return multi_grid


@BACKBONE_REGISTRY.register()
def build_resnet_dilated_backbone(cfg, input_shape):
    """
    Build a (dilated) ResNet-18/34/50/101 for semantic segmentation from config.

    Config keys read: ``MODEL.RESNETS.{DEPTH, NORM, STEM_TYPE, STEM_OUT_CHANNELS,
    RES2_OUT_CHANNELS, NUM_GROUPS, WIDTH_PER_GROUP, STRIDE_IN_1X1, RES4_DILATION,
    RES5_DILATION, RES5_MULTI_GRID, CONTRACT_DILATION, SIZE_DIVISIBILITY, STEM_POOL_CEIL_MODE,
    OUT_FEATURES}`` and
    ``MODEL.BACKBONE.FREEZE_AT``
    (``RES4_DILATION``, ``RES5_MULTI_GRID`` and ``STEM_TYPE`` come from
    :func:`detectron2.projects.deeplab.add_deeplab_config`).

    * Depth 18/34 use basic blocks (:class:`DilatedBasicBlock` in dilated stages,
      detectron2's ``BasicBlock`` elsewhere); ``NUM_GROUPS`` must be 1 and
      ``WIDTH_PER_GROUP``/``STRIDE_IN_1X1`` are unused. Depth 50/101 use detectron2's
      ``BottleneckBlock`` with bottleneck width ``NUM_GROUPS * WIDTH_PER_GROUP * 2**i``.
    * Stage widths: ``C_i = RES2_OUT_CHANNELS * 2**i`` for res2..res5 (i = 0..3), for all depths
      (so R18 with the default 64 gives 64/128/256/512, R50 with 256 gives 256..2048).
    * A dilated stage has stride 1 in its first block. The 3x3 convs of res4 use
      ``RES4_DILATION``; the 3x3 convs of res5 block ``j`` use
      ``RES5_DILATION * RES5_MULTI_GRID[j]`` (multi-grid is applied as in detectron2's
      DeepLab builder, i.e. also when ``RES5_DILATION == 1``).
    * ``NORM`` is used as given; ``FREEZE_AT`` is applied with :meth:`ResNet.freeze`.

    Shapes, for an input of shape (N, C_in, H, W) (C_in = ``input_shape.channels``, normally 3)
    the returned module's forward gives a dict with the requested ``OUT_FEATURES``; each
    ``res*`` map has shape (N, C_i, ceil(H/s), ceil(W/s)) with stride ``s``:

    =====================================  ======  ======  ======  ======
    setting                                 res2    res3    res4    res5
    =====================================  ======  ======  ======  ======
    OS32: RES4_DILATION=1, RES5_DILATION=1     4       8      16      32
    OS16: RES4_DILATION=1, RES5_DILATION=2     4       8      16      16
    OS8:  RES4_DILATION=2, RES5_DILATION=4     4       8       8       8
    =====================================  ======  ======  ======  ======

    e.g. OS16 on (N, 3, 512, 1024) with R101 defaults: res2 (N, 256, 128, 256),
    res3 (N, 512, 64, 128), res4 (N, 1024, 32, 64), res5 (N, 2048, 32, 64).
    ``output_shape()`` reports exactly these strides and channels. The stem output has
    stride 4 and ``STEM_OUT_CHANNELS`` channels for both stem types. With
    ``STEM_POOL_CEIL_MODE`` the stem's max-pool rounds up (:class:`DeepLabStemCeilPool`): for H a
    multiple of 4 every map has one more row (res2 H/4 + 1), for the official odd crops
    (769, 513) the sizes are the same; ``output_shape()`` keeps the nominal strides.

    Args:
        cfg (CfgNode): a detectron2 config with the DeepLab keys added.
        input_shape (ShapeSpec or None): input shape; ``None`` means
            ``len(cfg.MODEL.PIXEL_MEAN)`` channels.

    Returns:
        DilatedResNet: a detectron2 :class:`~detectron2.modeling.backbone.resnet.ResNet`.

    Raises:
        ValueError: on an unsupported depth, stem type, dilation combination, multi-grid
            length, ``NUM_GROUPS != 1`` for R18/R34, or unknown output feature names.
    """
    in_channels = input_shape.channels if input_shape is not None else len(cfg.MODEL.PIXEL_MEAN)
    r = cfg.MODEL.RESNETS
    return make_resnet_dilated(
        depth=r.DEPTH,
        norm=r.NORM,
        stem_type=r.STEM_TYPE,
        stem_out_channels=r.STEM_OUT_CHANNELS,
        res2_out_channels=r.RES2_OUT_CHANNELS,
        num_groups=r.NUM_GROUPS,
        width_per_group=r.WIDTH_PER_GROUP,
        stride_in_1x1=r.STRIDE_IN_1X1,
        res4_dilation=r.RES4_DILATION,
        res5_dilation=r.RES5_DILATION,
        res5_multi_grid=list(r.RES5_MULTI_GRID),
        contract_dilation=r.get("CONTRACT_DILATION", False),
        size_divisibility=r.get("SIZE_DIVISIBILITY", 0),
        stem_pool_ceil_mode=r.get("STEM_POOL_CEIL_MODE", False),
        out_features=list(r.OUT_FEATURES),
        freeze_at=cfg.MODEL.BACKBONE.FREEZE_AT,
        in_channels=in_channels,
    )


def make_resnet_dilated(
    *,
    depth: int,
    norm="BN",
    stem_type: str = "basic",
    stem_out_channels: int = 64,
    res2_out_channels: int = 64,
    num_groups: int = 1,
    width_per_group: int = 64,
    stride_in_1x1: bool = True,
    res4_dilation: int = 1,
    res5_dilation: int = 1,
    res5_multi_grid=(1, 1, 1),
    contract_dilation: bool = False,
    size_divisibility: int = 0,
    stem_pool_ceil_mode: bool = False,
    out_features=("res5",),
    freeze_at: int = 0,
    in_channels: int = 3,
) -> ResNet:
    """The same backbone as :func:`build_resnet_dilated_backbone` from explicit arguments (one per
    ``MODEL.RESNETS`` key, lower-cased, plus ``freeze_at`` and ``in_channels``), so LazyConfig
    files can build it with ``LazyCall``. See the builder's docstring for shapes and errors.

    ``contract_dilation`` (``MODEL.RESNETS.CONTRACT_DILATION``): the first block of a dilated stage
    uses half the stage's dilation, as mmseg's ResNetV1c (``contract_dilation=True``); it cannot be
    combined with a non-trivial res5 multi-grid. mmseg's V1c is ``stem_type="deeplab"``,
    ``stem_out_channels=64`` (deep stem 32-32-64), ``stride_in_1x1=False`` (stride on the 3x3 conv)
    and ``contract_dilation=True``. ``size_divisibility`` (``MODEL.RESNETS.SIZE_DIVISIBILITY``):
    see :class:`DilatedResNet`. ``stem_pool_ceil_mode`` (``MODEL.RESNETS.STEM_POOL_CEIL_MODE``): the
    stem's max-pool rounds its output size up (:class:`DeepLabStemCeilPool`)."""
    out_features = list(out_features)
    res5_multi_grid = list(res5_multi_grid)
    if depth not in _BLOCKS_PER_STAGE:
        raise ValueError(
            f"MODEL.RESNETS.DEPTH = {depth!r} is not supported by build_resnet_dilated_backbone; "
            f"allowed depths: {sorted(_BLOCKS_PER_STAGE)}."
        )
    if stem_type not in _STEM_TYPES:
        raise ValueError(
            f"MODEL.RESNETS.STEM_TYPE = {stem_type!r} is not supported; "
            f"allowed stem types: {list(_STEM_TYPES)}."
        )
    _check_dilations(res4_dilation, res5_dilation)
    if not out_features:
        raise ValueError("MODEL.RESNETS.OUT_FEATURES must not be empty.")
    unknown = [f for f in out_features if f not in _STAGE_INDEX]
    if unknown:
        raise ValueError(
            f"MODEL.RESNETS.OUT_FEATURES contains unknown names {unknown}; "
            f"allowed: {list(_STAGE_INDEX)}."
        )
    use_basic = depth in _BASIC_DEPTHS
    if use_basic and num_groups != 1:
        raise ValueError(
            f"MODEL.RESNETS.NUM_GROUPS = {num_groups!r} is not supported for ResNet-{depth} "
            "(basic blocks have no grouped convs); set it to 1."
        )

    stem_class = _STEM_CLASSES[(stem_type, bool(stem_pool_ceil_mode))]
    stem = stem_class(in_channels=in_channels, out_channels=stem_out_channels, norm=norm)

    blocks_per_stage = _BLOCKS_PER_STAGE[depth]
    # Only build the stages needed for the requested outputs (unused parameters would have
    # no gradient and could break DDP all-reduce), as detectron2's builders do.
    max_stage_idx = max(_STAGE_INDEX[f] for f in out_features)
    if max_stage_idx == 5:
        multi_grid = _check_multi_grid(res5_multi_grid, blocks_per_stage[3], depth)
        if contract_dilation and any(m != 1 for m in multi_grid):
            raise ValueError(
                f"MODEL.RESNETS.CONTRACT_DILATION = True cannot be combined with "
                f"RES5_MULTI_GRID = {multi_grid}; use all ones (mmseg ignores contraction with "
                "multi-grid)."
            )

    stage_dilation = {2: 1, 3: 1, 4: res4_dilation, 5: res5_dilation}
    stage_in = stem_out_channels
    stages = []
    for i, stage_idx in enumerate(range(2, max_stage_idx + 1)):
        num_blocks = blocks_per_stage[i]
        dilation = stage_dilation[stage_idx]
        # res2 follows the stride-4 stem with stride 1; res3..res5 downsample by 2 unless dilated.
        first_stride = 1 if stage_idx == 2 or dilation > 1 else 2
        if stage_idx == 5:
            dilation_per_block = [dilation * m for m in multi_grid]
        else:
            dilation_per_block = [dilation] * num_blocks
        if contract_dilation and dilation > 1:
            dilation_per_block[0] = dilation // 2
        stage_out = res2_out_channels * 2**i
        kwargs = {
            "num_blocks": num_blocks,
            "in_channels": stage_in,
            "out_channels": stage_out,
            "stride_per_block": [first_stride] + [1] * (num_blocks - 1),
            "norm": norm,
        }
        if use_basic:
            if max(dilation_per_block) > 1:
                kwargs["block_class"] = DilatedBasicBlock
                kwargs["dilation_per_block"] = dilation_per_block
            else:
                kwargs["block_class"] = BasicBlock
        else:
            kwargs["block_class"] = BottleneckBlock
            kwargs["bottleneck_channels"] = num_groups * width_per_group * 2**i
            kwargs["num_groups"] = num_groups
            kwargs["stride_in_1x1"] = stride_in_1x1
            kwargs["dilation_per_block"] = dilation_per_block
        stages.append(ResNet.make_stage(**kwargs))
        stage_in = stage_out

    return DilatedResNet(
        stem, stages, out_features=out_features, size_divisibility=size_divisibility
    ).freeze(freeze_at)
