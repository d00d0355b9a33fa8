# Twin of configs/hardshapes/u2pl_deeplabv3plus_R18_hl_instant_test_1-16.yaml: U2PL + HL on
# hardshapes 1/16, the U2PL instant test with HardnessHead in the student and the teacher (the
# teacher's HL branch is EMA'd but never run; see hardseg/modeling/meta_arch/u2pl.py).
from detectron2.config import LazyConfig

from ..common.models.hardness import add_hardness

# load_rel, not a relative import: the parent's file name has a "-" in it.
dataloader, lr_multiplier, model, optimizer, train = LazyConfig.load_rel(
    "u2pl_deeplabv3plus_R18_instant_test_1-16.py",
    ("dataloader", "lr_multiplier", "model", "optimizer", "train"),
)

for _branch in (model.student, model.teacher):
    _branch.segmentor = add_hardness(_branch.segmentor, eps=0.1, loss_weight=0.01, vis_period=10)
train.output_dir = "./output/hardshapes/u2pl_deeplabv3plus_R18_hl_instant_test_1-16"
