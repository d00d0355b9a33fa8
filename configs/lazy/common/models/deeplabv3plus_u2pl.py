# U2PL's DeepLabV3+ as a plain per-pixel model (21 VOC classes, cross entropy, whole-image
# inference): the LazyConfig twin of the MODEL block of
# configs/voc/semi-supervised/Base-VOC-SemiSup.yaml. See that file for the sources
# (docs/methods/u2pl.md §6).
from detectron2.config import LazyCall as L

from hardseg.modeling.heads import U2PLDeepLabV3PlusHead

from .deeplabv3plus import model

model.backbone.update(
    depth=101,  # docs/methods/u2pl.md §6
    norm="SyncBN",  # docs/methods/u2pl.md §6
    stem_type="deeplab",
    stem_out_channels=128,  # deep stem 64-64-128 (docs/methods/u2pl.md §6)
    res2_out_channels=256,
    stride_in_1x1=False,
    res4_dilation=2,  # output stride 8 (docs/methods/u2pl.md §6)
    res5_dilation=4,
    res5_multi_grid=[1, 2, 4],  # res5 dilations 4/8/16 (docs/methods/u2pl.md §6)
    # the official ceil-mode stem max-pool, no padding (docs/methods/u2pl.md §13.4)
    stem_pool_ceil_mode=True,
    size_divisibility=0,
    out_features=["res2", "res5"],
)
# The official U2PL decoder (docs/methods/u2pl.md §13.4)
model.sem_seg_head = L(U2PLDeepLabV3PlusHead)(
    input_shape={
        "res2": dict(channels=256, stride=4),
        "res5": dict(channels=2048, stride=8),
    },
    num_classes=21,
    in_features=["res2", "res5"],
    project_channels=256,  # 1x1 256->256 projection of res2 (docs/methods/u2pl.md §6)
    aspp_channels=256,  # docs/methods/u2pl.md §6
    aspp_dilations=[12, 24, 36],  # docs/methods/u2pl.md §6
    convs_dim=256,  # docs/methods/u2pl.md §2
    dropout=0.1,  # Dropout2d after the ASPP reduction and each fuse conv
    norm="SyncBN",
    align_corners=True,  # docs/methods/u2pl.md §13.3
    loss_type="cross_entropy",  # docs/methods/u2pl.md §4.1: plain CE on VOC
    loss_weight=1.0,
    ignore_value=255,
)
