# hardshapes loaders: the LazyConfig twin of configs/hardshapes/Base-HardShapes-SemanticSegmentation.yaml.
from omegaconf import OmegaConf

from detectron2.config import LazyCall as L
from detectron2.data import build_detection_test_loader, build_detection_train_loader
from detectron2.data import get_detection_dataset_dicts
from detectron2.data import transforms as T

from hardseg.data import SemanticDatasetMapper
from hardseg.evaluation import build_sem_seg_evaluator

dataloader = OmegaConf.create()

dataloader.train = L(build_detection_train_loader)(
    dataset=L(get_detection_dataset_dicts)(names="hardshapes_sem_seg_train"),
    mapper=L(SemanticDatasetMapper)(
        is_train=True,
        augmentations=[
            L(T.ResizeShortestEdge)(short_edge_length=(96, 112, 128, 144, 160), max_size=640,
                                    sample_style="choice"),
            L(T.RandomCrop_CategoryAreaConstraint)(crop_type="absolute", crop_size=(128, 128),
                                                   single_category_max_area=1.0,
                                                   ignored_category=255),
            L(T.RandomFlip)(horizontal=True),
        ],
        image_format="RGB",
        num_classes=7,
        ignore_value=255,
    ),
    total_batch_size=8,
    num_workers=2,
)

dataloader.test = L(build_detection_test_loader)(
    dataset=L(get_detection_dataset_dicts)(names="hardshapes_sem_seg_val", filter_empty=False),
    mapper=L(SemanticDatasetMapper)(
        is_train=False,
        augmentations=[L(T.ResizeShortestEdge)(short_edge_length=128, max_size=640)],
        image_format="RGB",
        num_classes="${...train.mapper.num_classes}",
        ignore_value="${...train.mapper.ignore_value}",
    ),
    num_workers=2,
)

dataloader.evaluator = L(build_sem_seg_evaluator)(dataset_name="${..test.dataset.names}")
