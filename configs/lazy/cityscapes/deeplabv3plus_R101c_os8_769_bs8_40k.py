# Twin of configs/cityscapes/semantic-segmentation/deeplabv3plus_R101c_os8_769_bs8_40k.yaml.
from detectron2.config import LazyCall as L

from hardseg.modeling import DepthwiseSeparableASPPHead
from hardseg.modeling.inference import InferenceConfig

from ..common.cityscapes_769_40k import dataloader, lr_multiplier, optimizer, train
from ..common.models.deeplabv3plus import model
from ..common.models.segmentor import fcn_aux_head

model.backbone.update(
    stem_out_channels=64,
    res4_dilation=2,
    res5_dilation=4,
    res5_multi_grid=[1, 1, 1],
    contract_dilation=True,
    size_divisibility=4,
    out_features=["res2", "res4", "res5"],
)
shapes = {
    "res2": dict(channels=256, stride=4),
    "res4": dict(channels=1024, stride=8),
    "res5": dict(channels=2048, stride=8),
}
# mmseg's DeepLabV3+ head, as in the official HL run (see the YAML twin).
model.sem_seg_head = L(DepthwiseSeparableASPPHead)(
    input_shape={k: shapes[k] for k in ("res2", "res5")},
    num_classes=19,
    in_feature="res5",
    low_feature="res2",
    channels=512,
    c1_channels=48,
    dilations=[12, 24, 36],
    dropout=0.1,
    norm="SyncBN",
    align_corners=True,
    loss_type="cross_entropy",
    loss_weight=1.0,
    ignore_value=255,
)
model.aux_head = fcn_aux_head(1024, 8, align_corners=True)
model.inference = L(InferenceConfig)(mode="slide", crop_size=(769, 769), stride=(513, 513))
# The official runs' crop geometry and loss normalisation (see the YAML twin's base config):
# crops padded to exactly 769x769, slide windows unpadded, plain CE averaged over all pixels.
model.pad_to_size = (769, 769)
CE_ALL_PIXELS = [dict(name="cross_entropy", weight=1.0, options=dict(avg_over_all_pixels=True))]
model.sem_seg_head.loss_type = CE_ALL_PIXELS
model.aux_head.loss_type = CE_ALL_PIXELS
train.output_dir = "./output/cityscapes/deeplabv3plus_R101c_os8_769_bs8_40k"
