"""HardSeg's trainer: detectron2's DefaultTrainer with HardSeg's builders."""

import logging
import os
import weakref
from collections import OrderedDict

from torch.nn.parallel import DistributedDataParallel

from detectron2.data import MetadataCatalog, build_detection_test_loader
from detectron2.engine import DefaultTrainer
from detectron2.engine.train_loop import TrainerBase
from detectron2.evaluation import inference_on_dataset, print_csv_format
from detectron2.projects.deeplab import build_lr_scheduler
from detectron2.utils import comm
from detectron2.utils.logger import setup_logger

from ..checkpoint import (
    HardSegCheckpointer,
    check_resume_length,
    keep_scheduler_settings,
    scheduler_settings,
)
from ..data.mappers import (
    MaskFormerSemanticDatasetMapper,
    SemanticDatasetMapper,
    TwoViewTargetMapper,
)
from ..evaluation import build_sem_seg_evaluator, format_sem_seg_table, save_results_json
from ..evaluation.class_count import check_cfg_num_classes
from ..modeling.efficiency import apply_efficiency_options
from ..modeling.uda import freeze_bn_affine_
from ..solver import build_optimizer
from ..solver.cosine_schedule import SharedFloorCosineLR
from ..data.resumable_loader import build_resumable_train_loader
from ..data.semisup_loader import build_semisup_train_loader
from .amp import build_step_trainer
from .data_state import DataLoaderState
from .ema_hook import add_teacher_hook
from .rng import RNGState, add_rng_gather_hook

__all__ = ["Trainer", "create_ddp_model", "evaluate_and_report"]

# INPUT.DATASET_MAPPER_NAME -> training mapper class (built as cls(cfg, is_train=True)).
MAPPERS = {
    "semantic": SemanticDatasetMapper,
    "mask_former_semantic": MaskFormerSemanticDatasetMapper,
    # HIAST rounds: pseudo-labels of DATASETS.PSEUDO_LABEL_DIR, HPLA, weak + strong views
    "two_view_target": lambda cfg, is_train: TwoViewTargetMapper.from_cfg(cfg),
}


def create_ddp_model(model, **kwargs):
    """Wrap ``model`` in DDP when there are several processes. Unlike detectron2 v0.6's helper it
    gives DDP ``device_ids`` only for a CUDA model, so CPU (gloo) runs work too."""
    if comm.get_world_size() == 1:
        return model
    if next(model.parameters()).device.type == "cuda":
        kwargs.setdefault("device_ids", [comm.get_local_rank()])
    return DistributedDataParallel(model, **kwargs)


def evaluate_and_report(model, data_loader, evaluator, dataset_name, output_dir):
    """Run ``evaluator`` on ``data_loader``; on the main process print the per-class table and
    write ``<output_dir>/sem_seg_metrics.json``. Returns the evaluator's results (all ranks)."""
    results = inference_on_dataset(model, data_loader, evaluator)
    if comm.is_main_process() and results:
        class_names = MetadataCatalog.get(dataset_name).get("stuff_classes", [])
        logging.getLogger(__name__).info(
            f"Results on {dataset_name}:\n{format_sem_seg_table(results, class_names)}"
        )
        print_csv_format(results)
        save_results_json(results, os.path.join(output_dir, "sem_seg_metrics.json"))
    return results


class Trainer(DefaultTrainer):
    """Builds the model, optimizer, loader, poly LR schedule and evaluators from a HardSeg config.
    Checkpoints hold the model, the iteration, the scheduler, the optimizer, the RNG state and
    the data position."""

    def __init__(self, cfg):
        # DefaultTrainer.__init__, with a DDP wrapper that also works on CPU processes.
        TrainerBase.__init__(self)
        if not logging.getLogger("detectron2").isEnabledFor(logging.INFO):
            setup_logger()
        cfg = DefaultTrainer.auto_scale_workers(cfg, comm.get_world_size())
        check_cfg_num_classes(cfg)  # model vs dataset class counts, before anything is built
        model = self.build_model(cfg)
        optimizer = self.build_optimizer(cfg, model)
        data_loader = self.build_train_loader(cfg)
        # a model's own optimizers (AdaptSegNet's discriminator) are saved and resumed too
        extra = model.checkpointables() if hasattr(model, "checkpointables") else {}
        model = create_ddp_model(model, broadcast_buffers=False)
        self._trainer = build_step_trainer(
            model,
            data_loader,
            optimizer,
            enabled=cfg.SOLVER.AMP.ENABLED,
            dtype=cfg.SOLVER.AMP.DTYPE,
            key="SOLVER.AMP.DTYPE",
        )
        self.scheduler = self.build_lr_scheduler(cfg, optimizer)
        self.data_state = DataLoaderState(data_loader)
        self.rng = RNGState()
        self.checkpointer = HardSegCheckpointer(
            model,
            cfg.OUTPUT_DIR,
            trainer=weakref.proxy(self),
            rng=self.rng,
            data=self.data_state,
            **extra,
        )
        self.start_iter = 0
        self.max_iter = cfg.SOLVER.MAX_ITER
        self.cfg = cfg
        self.register_hooks(self.build_hooks())

    def resume_or_load(self, resume=True):
        # The schedule's settings (length, warmup) come from this config, not the checkpoint.
        settings = scheduler_settings(self.scheduler)
        super().resume_or_load(resume=resume)
        if resume and self.checkpointer.has_checkpoint():
            check_resume_length(self.start_iter, self.max_iter, "SOLVER.MAX_ITER")
            keep_scheduler_settings(self.scheduler, settings)
        self.data_state.check_resumed(self.start_iter)

    # detectron2 v0.6's DefaultTrainer checkpoints only the iteration and hook states; the optimizer
    # (momentum buffers, AMP grad scaler) lives in the inner trainer and must be saved too.
    def state_dict(self):
        ret = super().state_dict()
        ret["_trainer"] = self._trainer.state_dict()
        return ret

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self._trainer.load_state_dict(state_dict["_trainer"])

    def build_hooks(self):
        # EMA teacher (U2PL): after the optimizer and LR steps, before checkpoint and eval; every
        # process's RNG state gathered just before each save.
        ret = add_teacher_hook(self.model, super().build_hooks())
        return add_rng_gather_hook(ret, self.rng, self.cfg.SOLVER.CHECKPOINT_PERIOD, self.max_iter)

    @classmethod
    def build_model(cls, cfg):
        model = super().build_model(cfg)
        if cfg.MODEL.UDA.FREEZE_BN_AFFINE:  # HIAST's DeepLab-v2: docs/methods/hiast.md §10 #2
            freeze_bn_affine_(model)
        return apply_efficiency_options(
            model, cfg.MODEL.CHANNELS_LAST, cfg.MODEL.BACKBONE_ACTIVATION_CHECKPOINT
        )

    @classmethod
    def build_optimizer(cls, cfg, model):
        # SGD as detectron2 builds it, or AdamW / backbone LR multiplier / full-model clipping.
        return build_optimizer(cfg, model)

    @classmethod
    def build_train_loader(cls, cfg):
        name = cfg.INPUT.DATASET_MAPPER_NAME
        if name not in MAPPERS:
            raise ValueError(
                f"INPUT.DATASET_MAPPER_NAME={name!r}; expected one of {sorted(MAPPERS)}."
            )
        mapper = MAPPERS[name](cfg, is_train=True)
        if cfg.DATASETS.TRAIN_UNLABELED:  # semi-supervised: {"labeled": [...], "unlabeled": [...]}
            return build_semisup_train_loader(cfg, mapper)
        if name == "two_view_target":  # HIAST: the pseudo-labelled target domain
            return build_resumable_train_loader(cfg, mapper, stream="target")
        return build_resumable_train_loader(cfg, mapper)

    @classmethod
    def build_test_loader(cls, cfg, dataset_name):
        return build_detection_test_loader(
            cfg, dataset_name, mapper=SemanticDatasetMapper(cfg, is_train=False)
        )

    @classmethod
    def build_evaluator(cls, cfg, dataset_name, output_folder=None):
        if output_folder is None:
            output_folder = os.path.join(cfg.OUTPUT_DIR, "inference", dataset_name)
        return build_sem_seg_evaluator(
            dataset_name,
            output_folder,
            miou_convention=cfg.TEST.MIOU_CONVENTION,
            difficulty_bins=cfg.TEST.DIFFICULTY_BINS,
            num_classes=cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES,
            write_predictions=cfg.TEST.SAVE_PREDICTIONS_JSON,
        )

    @classmethod
    def build_lr_scheduler(cls, cfg, optimizer):
        # detectron2.projects.deeplab's builder: WarmupPolyLR, or the core schedules by name;
        # "SharedFloorCosineLR": HIAST's cosine with one floor for every group.
        s = cfg.SOLVER
        if s.LR_SCHEDULER_NAME == "SharedFloorCosineLR":
            eta_min = s.COSINE_ETA_MIN_FACTOR * s.BASE_LR * s.BACKBONE_MULTIPLIER
            return SharedFloorCosineLR(optimizer, s.COSINE_T_MAX or s.MAX_ITER, eta_min)
        return build_lr_scheduler(cfg, optimizer)

    @classmethod
    def test(cls, cfg, model, evaluators=None):
        """Evaluate on every ``DATASETS.TEST`` dataset; print a per-class table and save JSON
        under ``OUTPUT_DIR/inference/<dataset>/``. Returns results like DefaultTrainer.test."""
        results = OrderedDict()
        for idx, dataset_name in enumerate(cfg.DATASETS.TEST):
            out = os.path.join(cfg.OUTPUT_DIR, "inference", dataset_name)
            data_loader = cls.build_test_loader(cfg, dataset_name)
            evaluator = (
                evaluators[idx] if evaluators else cls.build_evaluator(cfg, dataset_name, out)
            )
            results[dataset_name] = evaluate_and_report(
                model, data_loader, evaluator, dataset_name, out
            )
        if len(results) == 1:
            results = list(results.values())[0]
        return results
