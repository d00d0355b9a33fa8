# SegNeXt (MSCAN encoder + LightHam head): the LazyConfig twin of the YAML SegNeXt configs.
# ``segnext("t", num_classes=19)`` is the published model (Visual-Attention-Network/SegNeXt
# local_configs/segnext/*); experiments change the fields they need.
from detectron2.config import LazyCall as L

from hardseg.modeling.backbone import MSCAN, MSCAN_VARIANTS
from hardseg.modeling.heads import LightHamHead

from .segmentor import segmentor

# ham_channels, channels, NMF rank of each size's head
HEADS = {"t": (256, 256, 16), "s": (256, 256, 16), "b": (512, 512, 64), "l": (1024, 1024, 64)}


def segnext(variant="t", num_classes=19, head=None, gn_groups=32, **backbone):
    """HardSegmentor(MSCAN-<variant>, LightHamHead on res3..res5); ``head`` overrides the
    (ham_channels, channels, rank) triple, ``backbone`` the MSCAN arguments."""
    args = dict(MSCAN_VARIANTS[variant], **backbone)
    ham_channels, channels, rank = head or HEADS[variant]
    dims = args["embed_dims"]
    return segmentor(
        backbone=L(MSCAN)(**args, mlp_ratios=(8, 8, 4, 4), norm="SyncBN"),
        sem_seg_head=L(LightHamHead)(
            input_shape={
                f"res{i + 2}": dict(channels=c, stride=2 ** (i + 2)) for i, c in enumerate(dims)
            },
            num_classes=num_classes,
            in_features=["res3", "res4", "res5"],
            ham_channels=ham_channels,
            channels=channels,
            rank=rank,
            train_steps=6,
            eval_steps=7,
            gn_groups=gn_groups,
            dropout=0.1,
            loss_type="cross_entropy",
            loss_weight=1.0,
            ignore_value=255,
            predictor_init_std=0.01,
        ),
    )
