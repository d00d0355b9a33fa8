# Twin of configs/hardshapes/uda/hiast_deeplabv2_R18_round_tiny.yaml: one HIAST round on
# hardshapes_shifted (docs/methods/hiast.md §3). Set dataloader.train.mapper.pseudo_label_dir and
# train.init_checkpoint per round (tools/run_self_training.py does it for the YAML form).
from detectron2.config import LazyCall as L
from detectron2.data import get_detection_dataset_dicts

from hardseg.data.mappers import TwoViewTargetMapper
from hardseg.data.resumable_loader import build_resumable_train_loader
from hardseg.modeling.meta_arch import HIAST

from .deeplabv2_R18_source_only_tiny import dataloader, lr_multiplier, optimizer, train  # noqa
from .deeplabv2_R18_source_only_tiny import model as segmentor

model = L(HIAST)(
    student=segmentor,
    teacher=segmentor,  # instantiated twice: two independent branches
    ema_decay=0.999,
    eval_model="teacher",
    ce_weight=1.0,
    kld_weight=0.1,
    ent_weight=1.0,
    cst_weight=0.5,
)
dataloader.train = L(build_resumable_train_loader)(
    dataset=L(get_detection_dataset_dicts)(
        names="hardshapes_shifted_sem_seg_train", filter_empty=False
    ),
    mapper=L(TwoViewTargetMapper)(
        pseudo_label_dir="???",
        dataset_name="hardshapes_shifted_sem_seg_train",
        num_classes=7,
        num_hard_classes=4,
        crop_height_range=[48, 64],
        crop_aspect=1.0,
        output_size=[64, 64],
    ),
    total_batch_size=2,
    num_workers=0,
    stream="target",
)
optimizer.lr = 3e-4
train.output_dir = "./output/hardshapes/uda/hiast_deeplabv2_R18_round_tiny"
