# TopFormer (token pyramid + semantics extractor/injection + SimpleSumHead): the LazyConfig twin
# of the YAML TopFormer configs. ``topformer("t", num_classes=19)`` is the published model.
from detectron2.config import LazyCall as L

from hardseg.modeling.backbone import TOPFORMER_VARIANTS, TopFormer
from hardseg.modeling.heads import SimpleSumHead

from .segmentor import segmentor


def topformer(variant="t", num_classes=19, out_channels=None, norm="SyncBN"):
    """HardSegmentor(TopFormer-<variant>, SimpleSumHead); ``out_channels`` overrides the width of
    the injected maps (the official Cityscapes TopFormer-B uses 128)."""
    args = dict(TOPFORMER_VARIANTS[variant])
    if out_channels:
        args["out_channels"] = out_channels
    c = args["out_channels"]
    return segmentor(
        backbone=L(TopFormer)(
            **args,
            depth=4,
            drop_path_rate=0.1,
            norm=norm,
            out_features=["res3", "res4", "res5"],
        ),
        sem_seg_head=L(SimpleSumHead)(
            input_shape={
                "res3": dict(channels=c, stride=8),
                "res4": dict(channels=c, stride=16),
                "res5": dict(channels=c, stride=32),
            },
            num_classes=num_classes,
            in_features=["res3", "res4", "res5"],
            depthwise=variant == "t",
            dropout=0.1,
            norm=norm,
            loss_type="cross_entropy",
            loss_weight=1.0,
            ignore_value=255,
            predictor_init_std=0.01,
        ),
    )
