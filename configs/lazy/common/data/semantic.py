# Per-pixel semantic-segmentation loaders (train / test / evaluator). Dataset files import this and
# set the dataset names, sizes, class count and batch: the LazyConfig twin of a YAML Base file.
from omegaconf import OmegaConf

from detectron2.config import LazyCall as L
from detectron2.data import build_detection_test_loader
from detectron2.data import get_detection_dataset_dicts
from detectron2.data import transforms as T

from hardseg.data import SemanticDatasetMapper
from hardseg.data.resumable_loader import build_resumable_train_loader
from hardseg.evaluation import build_sem_seg_evaluator

dataloader = OmegaConf.create()

dataloader.train = L(build_resumable_train_loader)(
    dataset=L(get_detection_dataset_dicts)(names="???"),
    mapper=L(SemanticDatasetMapper)(
        is_train=True,
        augmentations=[
            L(T.ResizeShortestEdge)(short_edge_length="???", max_size="???", sample_style="choice"),
            L(T.RandomCrop_CategoryAreaConstraint)(
                crop_type="absolute",
                crop_size="???",
                single_category_max_area=1.0,
                ignored_category=255,
            ),
            L(T.RandomFlip)(horizontal=True),
        ],
        image_format="RGB",
        num_classes="???",
        ignore_value=255,
    ),
    total_batch_size="???",
    num_workers=4,
)

dataloader.test = L(build_detection_test_loader)(
    dataset=L(get_detection_dataset_dicts)(names="???", filter_empty=False),
    mapper=L(SemanticDatasetMapper)(
        is_train=False,
        augmentations=[L(T.ResizeShortestEdge)(short_edge_length="???", max_size="???")],
        image_format="RGB",
        num_classes="${...train.mapper.num_classes}",
        ignore_value="${...train.mapper.ignore_value}",
    ),
    num_workers=4,
)

# write_predictions: TEST.SAVE_PREDICTIONS_JSON (sem_seg_predictions.json; off, it is slow)
dataloader.evaluator = L(build_sem_seg_evaluator)(
    dataset_name="${..test.dataset.names}", write_predictions=False
)
