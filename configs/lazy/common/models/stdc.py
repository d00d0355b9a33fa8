# STDC-Seg (STDC encoder + context path / fusion / detail head): the LazyConfig twin of the YAML
# STDC configs. ``stdc("stdc1", num_classes=19)`` is the published model.
from detectron2.config import LazyCall as L

from hardseg.modeling.backbone import STDC_VARIANTS, STDCNet
from hardseg.modeling.heads import STDCHead

from .segmentor import segmentor


def stdc(variant="stdc1", num_classes=19, base=64, context=128, fuse=256, aux=64, norm="SyncBN"):
    """HardSegmentor(STDCNet, STDCHead); widths as the official model unless overridden."""
    return segmentor(
        backbone=L(STDCNet)(
            layers=STDC_VARIANTS[variant],
            base=base,
            num_convs=4,
            norm=norm,
            out_features=["res3", "res4", "res5"],
        ),
        sem_seg_head=L(STDCHead)(
            input_shape={
                "res3": dict(channels=4 * base, stride=8),
                "res4": dict(channels=8 * base, stride=16),
                "res5": dict(channels=16 * base, stride=32),
            },
            num_classes=num_classes,
            in_features=["res3", "res4", "res5"],
            context_channels=context,
            fuse_channels=fuse,
            aux_channels=aux,
            aux_weight=1.0,
            detail_weight=1.0,
            norm=norm,
            loss_type="cross_entropy",
            loss_weight=1.0,
            ignore_value=255,
        ),
    )
