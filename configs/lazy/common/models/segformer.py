# SegFormer (MiT encoder + all-MLP head): the LazyConfig twin of the YAML SegFormer configs.
# ``segformer("b2", num_classes=19)`` is the published model; experiments change the fields they
# need (backbone.embed_dims, sem_seg_head.embed_dim, model.inference, ...).
from detectron2.config import LazyCall as L

from hardseg.modeling.heads import SegFormerHead
from hardseg.modeling.backbone import MIT_VARIANTS, MixVisionTransformer

from .segmentor import segmentor


def segformer(variant="b0", num_classes=19, embed_dim=None, **backbone):
    """HardSegmentor(MiT-<variant>, SegFormerHead); head width 256 for b0/b1, 768 otherwise
    (NVlabs/SegFormer local_configs/segformer/B*/). ``backbone`` overrides the MiT arguments."""
    sizes = dict(MIT_VARIANTS[variant], **backbone)
    dims = sizes["embed_dims"]
    return segmentor(
        backbone=L(MixVisionTransformer)(
            **sizes, sr_ratios=(8, 4, 2, 1), mlp_ratio=4.0, drop_path_rate=0.1
        ),
        sem_seg_head=L(SegFormerHead)(
            input_shape={
                f"res{i + 2}": dict(channels=c, stride=2 ** (i + 2)) for i, c in enumerate(dims)
            },
            num_classes=num_classes,
            in_features=["res2", "res3", "res4", "res5"],
            embed_dim=embed_dim or (256 if variant in ("b0", "b1") else 768),
            dropout=0.1,
            norm="SyncBN",
            loss_type="cross_entropy",
            loss_weight=1.0,
            ignore_value=255,
            predictor_init_std=0.01,
        ),
    )
