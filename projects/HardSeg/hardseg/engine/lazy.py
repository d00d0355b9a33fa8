"""Training and evaluation from LazyConfig files (``tools/lazyconfig_train_net.py``).

A config defines ``model``, ``dataloader.{train,test,evaluator}``, ``optimizer``, ``lr_multiplier``
and ``train`` (see configs/lazy/common/). The loop is detectron2's SimpleTrainer/AMPTrainer with
the usual hooks, plus :class:`TeacherEMAHook` for models with an EMA teacher (U2PL), placed as
``Trainer.build_hooks`` places it; checkpoints carry the model, optimizer, scheduler, iteration,
RNG state and data position.
"""

import logging
import os

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from detectron2.checkpoint import DetectionCheckpointer
from detectron2.config import LazyConfig, instantiate
from detectron2.engine import AMPTrainer, SimpleTrainer, default_setup, default_writers, hooks
from detectron2.utils import comm
from detectron2.utils.logger import setup_logger

from .data_state import DataLoaderState
from .defaults import resolve_device
from .ema_hook import TeacherEMAHook, has_teacher
from .rng import RNGState
from .trainer import create_ddp_model, evaluate_and_report

__all__ = ["load_lazy_config", "do_train", "do_test", "main"]

_MISSING = object()


def load_lazy_config(config_file: str, overrides=()):
    """Load ``config_file`` and apply ``key=value`` overrides. A key that does not exist is a
    KeyError naming it (``+key=value`` adds a new key on purpose)."""
    cfg = LazyConfig.load(config_file)
    for o in OverridesParser.create().parse_overrides(list(overrides)):
        if not o.is_add() and OmegaConf.select(cfg, o.key_or_group, default=_MISSING) is _MISSING:
            raise KeyError(
                f"{config_file}: override {o.input_line!r} names a key that does not "
                "exist in this config; check its spelling, or write +key=value to add one."
            )
    cfg = LazyConfig.apply_overrides(cfg, [o.lstrip("+") for o in overrides])
    cfg.train.device = resolve_device(cfg.train.device)
    return cfg


def do_test(cfg, model):
    """Evaluate on ``dataloader.test`` with ``dataloader.evaluator``; table + JSON as in Trainer."""
    if "evaluator" not in cfg.dataloader:
        return {}
    name = cfg.dataloader.test.dataset.names
    out = os.path.join(cfg.train.output_dir, "inference", name)
    return evaluate_and_report(
        model, instantiate(cfg.dataloader.test), instantiate(cfg.dataloader.evaluator), name, out
    )


def do_train(args, cfg):
    model = instantiate(cfg.model)
    logging.getLogger("detectron2").info(f"Model:\n{model}")
    model.to(cfg.train.device)
    cfg.optimizer.params.model = model
    optimizer = instantiate(cfg.optimizer)
    train_loader = instantiate(cfg.dataloader.train)
    model = create_ddp_model(model, **cfg.train.ddp)
    trainer = (AMPTrainer if cfg.train.amp.enabled else SimpleTrainer)(
        model, train_loader, optimizer
    )
    data_state = DataLoaderState(train_loader)
    checkpointer = DetectionCheckpointer(
        model, cfg.train.output_dir, trainer=trainer, rng=RNGState(), data=data_state
    )
    main_process = comm.is_main_process()
    trainer.register_hooks(
        [
            hooks.IterationTimer(),
            hooks.LRScheduler(scheduler=instantiate(cfg.lr_multiplier)),
            # EMA teacher (U2PL): after the optimizer and LR steps, before checkpoint and eval,
            # at the place Trainer.build_hooks gives it.
            TeacherEMAHook() if has_teacher(model) else None,
            (
                hooks.PeriodicCheckpointer(checkpointer, **cfg.train.checkpointer)
                if main_process
                else None
            ),
            hooks.EvalHook(cfg.train.eval_period, lambda: do_test(cfg, model)),
            (
                hooks.PeriodicWriter(
                    default_writers(cfg.train.output_dir, cfg.train.max_iter),
                    period=cfg.train.log_period,
                )
                if main_process
                else None
            ),
        ]
    )
    checkpointer.resume_or_load(cfg.train.init_checkpoint, resume=args.resume)
    start_iter = trainer.iter + 1 if args.resume and checkpointer.has_checkpoint() else 0
    data_state.check_resumed(start_iter)
    trainer.train(start_iter, cfg.train.max_iter)


def main(args):
    cfg = load_lazy_config(args.config_file, args.opts)
    default_setup(cfg, args)
    setup_logger(cfg.train.output_dir, distributed_rank=comm.get_rank(), name="hardseg")
    if args.eval_only:
        model = instantiate(cfg.model).to(cfg.train.device)
        model = create_ddp_model(model)
        DetectionCheckpointer(model).load(cfg.train.init_checkpoint)
        return do_test(cfg, model)
    do_train(args, cfg)
