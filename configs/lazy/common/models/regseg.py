# RegSeg (exp48 body + decoder26): the LazyConfig twin of the YAML RegSeg configs.
from detectron2.config import LazyCall as L

from hardseg.modeling.backbone import RegSegBody
from hardseg.modeling.heads import RegSegHead

from .segmentor import segmentor


def regseg(num_classes=19, norm="SyncBN"):
    """HardSegmentor(RegSeg exp48 body, decoder26)."""
    return segmentor(
        backbone=L(RegSegBody)(norm=norm, out_features=["res2", "res3", "res4"]),
        sem_seg_head=L(RegSegHead)(
            input_shape={
                "res2": dict(channels=48, stride=4),
                "res3": dict(channels=128, stride=8),
                "res4": dict(channels=320, stride=16),
            },
            num_classes=num_classes,
            in_features=["res2", "res3", "res4"],
            norm=norm,
            loss_type="cross_entropy",
            loss_weight=1.0,
            ignore_value=255,
        ),
    )
