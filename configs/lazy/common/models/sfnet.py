# SFNet (deep-stem ResNet + PPM + flow-aligned FPN): the LazyConfig twin of the YAML SFNet configs.
from detectron2.config import LazyCall as L

from hardseg.modeling.backbone import make_resnet_dilated
from hardseg.modeling.heads import SFNetHead

from .segmentor import segmentor


def sfnet(depth=18, num_classes=19, fpn_dim=None, stem=128, res2=None, norm="SyncBN"):
    """HardSegmentor(ResNet-<depth> with the 3-conv deep stem, SFNetHead); FPN width 128 for
    ResNet-18, 256 for ResNet-50 (lxtGH/SFSegNets network/sfnet_resnet.py)."""
    res2 = res2 or (64 if depth in (18, 34) else 256)
    widths = [res2 * 2**i for i in range(4)]
    return segmentor(
        backbone=L(make_resnet_dilated)(
            depth=depth,
            norm=norm,
            stem_type="deeplab",
            stem_out_channels=stem,
            res2_out_channels=res2,
            num_groups=1,
            width_per_group=64,
            stride_in_1x1=False,
            res4_dilation=1,
            res5_dilation=1,
            res5_multi_grid=[1, 1] if depth in (18, 34) else [1, 1, 1],
            size_divisibility=32,
            out_features=["res2", "res3", "res4", "res5"],
            freeze_at=0,
        ),
        sem_seg_head=L(SFNetHead)(
            input_shape={
                f"res{i + 2}": dict(channels=c, stride=2 ** (i + 2)) for i, c in enumerate(widths)
            },
            num_classes=num_classes,
            in_features=["res2", "res3", "res4", "res5"],
            fpn_dim=fpn_dim or (128 if depth in (18, 34) else 256),
            norm=norm,
            loss_type="cross_entropy",
            loss_weight=1.0,
            ignore_value=255,
            predictor_init_std=0.01,
        ),
    )
