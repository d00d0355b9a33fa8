# Twin of configs/cityscapes/semi-supervised/u2pl_deeplabv3plus_R103_os8_mg124_769_hl_bs16_35k_1-16.yaml: U2PL + HL, the
# U2PL config u2pl_deeplabv3plus_R103_os8_mg124_769_bs16_35k_1-16 with HardnessHead in the student and the teacher, weights
# normalised over the pixels the supervised loss counts (docs/methods/hl.md §8.5).
from detectron2.config import LazyConfig

from ..common.models.hardness import add_hardness

# load_rel, not a relative import: the parent's file name has a "-" in it.
dataloader, lr_multiplier, model, optimizer, train = LazyConfig.load_rel(
    "u2pl_deeplabv3plus_R103_os8_mg124_769_bs16_35k_1-16.py",
    ("dataloader", "lr_multiplier", "model", "optimizer", "train"),
)

for _branch in (model.student, model.teacher):
    _branch.segmentor = add_hardness(
        _branch.segmentor, eps=0.1, loss_weight=0.01, normalizer="kept_pixels"
    )
train.output_dir = "./output/cityscapes/u2pl_deeplabv3plus_R103_os8_mg124_769_hl_bs16_35k_1-16"
