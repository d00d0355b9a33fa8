# FCN and OCRNet on HRNetV2 (default W48, Cityscapes, mmseg's class-weighted OHEM CE over all label
# pixels): the LazyConfig twin of configs/cityscapes/semantic-segmentation/fcn_hr48_*.yaml and
# ocr_hr48_*.yaml. ``add_cac(model, ...)`` (common/models/cac.py) turns CAC on.
from detectron2.config import LazyCall as L

from hardseg.config.cac import CITYSCAPES_CLASS_WEIGHTS
from hardseg.modeling.backbone import HRNet
from hardseg.modeling.heads import HRNetFCNHead, HRNetOCRHead

from .segmentor import segmentor

FEATURES = ["hr1", "hr2", "hr3", "hr4"]


def hrnet_shapes(width):
    """Backbone output shapes (LazyCall skips from_config, so they are written here)."""
    return {f"hr{i + 1}": dict(channels=width * 2**i, stride=4 * 2**i) for i in range(4)}


def mmseg_ohem_ce(class_weights=CITYSCAPES_CLASS_WEIGHTS):
    """MODEL.SEM_SEG_HEAD.LOSS_TYPE "ohem_cross_entropy" with mmseg's sampler options."""
    return [
        {
            "name": "ohem_cross_entropy",
            "weight": 1.0,
            "options": {
                "thresh": 0.9,
                "min_kept": 131072,
                "min_kept_per_image": True,
                "normalize": "all_pixels",
                "selection": "mmseg",
                "class_weights": class_weights,
            },
        }
    ]


def fcn_head(width=48, num_classes=19, norm="SyncBN", loss_type=None, loss_weight=1.0):
    return L(HRNetFCNHead)(
        input_shape=hrnet_shapes(width),
        num_classes=num_classes,
        in_features=FEATURES,
        channels=15 * width,
        num_convs=1,
        kernel_size=1,
        dropout=0.0,
        norm=norm,
        align_corners=False,
        loss_type=loss_type if loss_type is not None else mmseg_ohem_ce(),
        loss_weight=loss_weight,
        ignore_value=255,
    )


def ocr_head(width=48, num_classes=19, norm="SyncBN", loss_type=None):
    return L(HRNetOCRHead)(
        input_shape=hrnet_shapes(width),
        stage1=fcn_head(width, num_classes, norm, loss_type, loss_weight=0.4),
        num_classes=num_classes,
        channels=512,
        key_channels=256,
        norm=norm,
        loss_type=loss_type if loss_type is not None else mmseg_ohem_ce(),
        loss_weight=1.0,
        ignore_value=255,
    )


model = segmentor(
    backbone=L(HRNet)(width=48, norm="SyncBN"),
    sem_seg_head=fcn_head(),
)
