# LazyConfig twins of configs/uda/*/hiast_{source_only,warmup,round}_deeplabv2_R101_*.yaml:
# ``hiast_config(scenario, stage)`` returns (model, dataloader, optimizer, lr_multiplier, train).
# The YAML forms are the ones tools/run_self_training.py runs; here the cosine is a multiplier, so
# its floor scales with each group's LR (the YAML's SharedFloorCosineLR keeps one floor).
import copy

from fvcore.common.param_scheduler import CosineParamScheduler
from omegaconf import OmegaConf

from detectron2.config import LazyCall as L
from detectron2.data import get_detection_dataset_dicts
from detectron2.data import transforms as T

from hardseg.data import SemanticDatasetMapper
from hardseg.data.mappers import TwoViewTargetMapper
from hardseg.data.resumable_loader import build_resumable_train_loader
from hardseg.data.semisup_loader import build_two_stream_loader
from hardseg.modeling.meta_arch import HIAST, AdaptSegNetWarmup
from hardseg.modeling.uda import FCDiscriminator
from hardseg.solver import make_optimizer, param_groups

from .data.semantic import dataloader as _semantic
from .models.deeplabv2 import model as _deeplabv2
from .train import train as _train

SCENARIOS = {
    "gta5_cityscapes": dict(
        source="gta5_sem_seg_train",
        target="cityscapes_fine_sem_seg_train",
        test="cityscapes_fine_sem_seg_val",
        classes=19,
        source_sizes=(512, 576, 640, 704, 768, 832, 896, 960, 1024),
        crop=(512, 1024),
        test_size=(768, 1536),
        target_heights=[341, 1000],
        aspect=2.0,
        excluded=[],
    ),
    "synthia_cityscapes": dict(
        source="synthia_sem_seg_train",
        target="cityscapes_fine_sem_seg_train",
        test="cityscapes_sem_seg_val_synthia16",
        classes=19,
        source_sizes=(512, 576, 640, 704, 760),
        crop=(512, 1024),
        test_size=(768, 1536),
        target_heights=[341, 1000],
        aspect=2.0,
        excluded=[9, 14, 16],
    ),
    "cityscapes_robotcar": dict(
        source="cityscapes_sem_seg_train_robot9",
        target="robotcar_sem_seg_train",
        test="robotcar_sem_seg_val",
        classes=9,
        source_sizes=(768, 832, 896, 960, 1024),
        crop=(768, 1024),
        test_size=(960, 1280),
        target_heights=[341, 900],
        aspect=1.3333333333333333,
        excluded=[],
    ),
}
# stage -> (batch, classifier LR, iterations)
STAGES = {"source_only": (8, 1e-3, 25000), "warmup": (4, 2e-4, 25000), "round": (6, 3e-5, 8000)}


def _target_mapper(s):
    return L(SemanticDatasetMapper)(
        is_train=False,  # target images only, the training augmentation
        augmentations=[
            L(T.ResizeShortestEdge)(
                short_edge_length=(1024,), max_size=4096, sample_style="choice"
            ),
            L(T.RandomCrop)(crop_type="absolute", crop_size=s["crop"]),
            L(T.RandomFlip)(horizontal=True),
        ],
        image_format="RGB",
        num_classes=s["classes"],
        ignore_value=255,
    )


def hiast_config(scenario: str, stage: str):
    s = SCENARIOS[scenario]
    batch, lr, iters = STAGES[stage]
    segmentor = copy.deepcopy(_deeplabv2)
    segmentor.sem_seg_head.num_classes = s["classes"]

    dataloader = copy.deepcopy(_semantic)
    dataloader.train.dataset.names = s["source"]
    dataloader.train.mapper.augmentations[0].update(
        short_edge_length=s["source_sizes"], max_size=4096
    )
    dataloader.train.mapper.augmentations[1].crop_size = s["crop"]
    dataloader.train.mapper.num_classes = s["classes"]
    dataloader.train.update(total_batch_size=batch, num_workers=4, aspect_ratio_grouping=False)
    dataloader.test.dataset.names = s["test"]
    dataloader.test.mapper.augmentations[0].update(
        short_edge_length=s["test_size"][0], max_size=s["test_size"][1]
    )

    if stage == "source_only":
        model = segmentor
    elif stage == "warmup":
        model = L(AdaptSegNetWarmup)(
            segmentor=segmentor,
            discriminator=L(FCDiscriminator)(num_classes=s["classes"], channels=64),
            adv_weight=0.05,
            adv_loss="mse",
            d_lr=1e-4,
            d_betas=[0.9, 0.99],
        )
        source_mapper = dataloader.train.mapper
        dataloader.train = L(build_two_stream_loader)(
            dataset=L(get_detection_dataset_dicts)(names=s["source"], filter_empty=False),
            unlabeled_dataset=L(get_detection_dataset_dicts)(names=s["target"], filter_empty=False),
            mapper=source_mapper,
            unlabeled_mapper=_target_mapper(s),
            total_batch_size=batch,
            num_workers=4,
        )
    else:
        model = L(HIAST)(
            student=segmentor,
            teacher=copy.deepcopy(segmentor),
            ema_decay=0.999,
            eval_model="teacher",
        )
        dataloader.train = L(build_resumable_train_loader)(
            dataset=L(get_detection_dataset_dicts)(names=s["target"], filter_empty=False),
            mapper=L(TwoViewTargetMapper)(
                pseudo_label_dir="???",
                dataset_name=s["target"],
                num_classes=s["classes"],
                excluded_classes=s["excluded"],
                crop_height_range=s["target_heights"],
                crop_aspect=s["aspect"],
                output_size=list(s["crop"]),
            ),
            total_batch_size=batch,
            num_workers=4,
            stream="target",
        )

    optimizer = L(make_optimizer)(
        params=L(param_groups)(
            base_lr="${..lr}",
            weight_decay="${..weight_decay}",
            weight_decay_norm=5e-4,
            backbone_multiplier=0.1,
        ),
        name="ADAM",
        lr=lr,
        weight_decay=5e-4,
    )
    lr_multiplier = L(CosineParamScheduler)(start_value=1.0, end_value=1e-3)
    train = OmegaConf.create(copy.deepcopy(_train))
    train.update(
        max_iter=iters,
        eval_period=0,
        seed=888,
        output_dir=f"./output/uda/{scenario}/{stage}",
    )
    return model, dataloader, optimizer, lr_multiplier, train
