# Twin of configs/hardshapes/uda/adaptsegnet_deeplabv2_R18_warmup_tiny.yaml: stage 1 of the
# hardshapes -> hardshapes_shifted HIAST chain (AdaptSegNet warm-up, docs/methods/hiast.md §3).
from detectron2.config import LazyCall as L
from detectron2.data import get_detection_dataset_dicts
from detectron2.data import transforms as T

from hardseg.data import SemanticDatasetMapper
from hardseg.data.semisup_loader import build_two_stream_loader
from hardseg.modeling.meta_arch import AdaptSegNetWarmup
from hardseg.modeling.uda import FCDiscriminator

from .deeplabv2_R18_source_only_tiny import dataloader, lr_multiplier, optimizer, train  # noqa
from .deeplabv2_R18_source_only_tiny import model as segmentor

model = L(AdaptSegNetWarmup)(
    segmentor=segmentor,
    discriminator=L(FCDiscriminator)(num_classes=7, channels=8),
    adv_weight=0.05,
    adv_loss="mse",
    d_lr=1e-4,
    d_betas=[0.9, 0.99],
)
_source_mapper = dataloader.train.mapper
dataloader.train = L(build_two_stream_loader)(
    dataset=L(get_detection_dataset_dicts)(names="hardshapes_sem_seg_train", filter_empty=False),
    unlabeled_dataset=L(get_detection_dataset_dicts)(
        names="hardshapes_shifted_sem_seg_train", filter_empty=False
    ),
    mapper=_source_mapper,
    unlabeled_mapper=L(SemanticDatasetMapper)(
        is_train=False,  # target images only, the training augmentation
        augmentations=[
            L(T.ResizeShortestEdge)(short_edge_length=(64,), max_size=640, sample_style="choice"),
            L(T.RandomCrop)(crop_type="absolute", crop_size=(64, 64)),
            L(T.RandomFlip)(horizontal=True),
        ],
        image_format="RGB",
        num_classes=7,
        ignore_value=255,
    ),
    total_batch_size=2,
    num_workers=0,
)
optimizer.lr = 2e-4
train.output_dir = "./output/hardshapes/uda/adaptsegnet_deeplabv2_R18_warmup_tiny"
