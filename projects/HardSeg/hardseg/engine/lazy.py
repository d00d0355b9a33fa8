"""Training and evaluation from LazyConfig files (``tools/lazyconfig_train_net.py``).

A config defines ``model``, ``dataloader.{train,test,evaluator}``, ``optimizer``, ``lr_multiplier``
and ``train`` (see configs/lazy/common/). The loop is detectron2's SimpleTrainer or HardSeg's MixedPrecisionTrainer with
the usual hooks, plus :class:`TeacherEMAHook` for models with an EMA teacher (U2PL), placed as
``Trainer.build_hooks`` places it; checkpoints carry the model, optimizer, scheduler, iteration,
RNG state and data position.
"""

import logging
import os

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, ListConfig, OmegaConf

from detectron2.config import LazyConfig, instantiate
from detectron2.engine import default_setup, default_writers, hooks
from detectron2.utils import comm
from detectron2.utils.logger import setup_logger

from ..checkpoint import (
    HardSegCheckpointer,
    check_lazy_resume_config,
    check_resume_length,
    load_model_weights,
)
from ..config.safe_yaml import load_lazy_yaml
from ..modeling.efficiency import apply_efficiency_options
from .amp import build_step_trainer
from .data_state import DataLoaderState
from .defaults import resolve_device
from .ema_hook import add_teacher_hook
from .rng import RNGState, add_rng_gather_hook
from .trainer import create_ddp_model, evaluate_and_report

__all__ = ["load_lazy_config", "do_train", "do_test", "main"]

_MISSING = object()


def load_lazy_config(config_file: str, overrides=()):
    """Load ``config_file`` and apply ``key=value`` overrides. A key that does not exist is a
    KeyError naming it (``+key=value`` adds a new key on purpose)."""
    if os.path.splitext(config_file)[1] in (".yaml", ".yml"):
        cfg = load_lazy_yaml(config_file)  # detectron2 reads these with yaml.unsafe_load
    else:
        cfg = LazyConfig.load(config_file)  # a .py config is a Python program: it runs
    previous = {}
    for o in OverridesParser.create().parse_overrides(list(overrides)):
        if o.is_add():
            continue
        value = OmegaConf.select(cfg, o.key_or_group, default=_MISSING)
        if value is _MISSING:
            raise KeyError(
                f"{config_file}: override {o.input_line!r} names a key that does not "
                "exist in this config; check its spelling, or write +key=value to add one."
            )
        previous[o.key_or_group] = (o.input_line, value)
    cfg = LazyConfig.apply_overrides(cfg, [o.lstrip("+") for o in overrides])
    for key, (line, value) in previous.items():
        _check_override_type(config_file, key, line, value, OmegaConf.select(cfg, key))
    cfg.train.device = resolve_device(cfg.train.device)
    return cfg


def _expected_type(value):
    """What an override of a key holding ``value`` must give: (name, accepted types), or None
    when anything goes (strings, None, objects). Booleans are not numbers here."""
    if isinstance(value, bool):
        return "a bool (true or false)", (bool,)
    if isinstance(value, int):
        return "an int", (int,)
    if isinstance(value, float):
        return "a number", (int, float)
    if isinstance(value, (list, tuple, ListConfig)):
        return "a list ([a,b,...])", (list, tuple, ListConfig)
    if isinstance(value, (dict, DictConfig)):
        return "a mapping ({k: v, ...})", (dict, DictConfig)
    return None


def _check_override_type(config_file, key, line, old, new):
    expected = _expected_type(old)
    if expected is None or new is None:  # key=null clears a value on purpose
        return
    name, types = expected
    if not isinstance(new, types) or (isinstance(new, bool) and bool not in types):
        raise ValueError(
            f"{config_file}: override {line!r} sets {key} to {new!r} ({type(new).__name__}), "
            f"but {key} takes {name} (the config gives {old!r}). Write {key}=<{name}>."
        )


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
    apply_efficiency_options(
        model,
        cfg.train.get("channels_last", False),
        cfg.train.get("activation_checkpoint", False),
    )
    cfg.optimizer.params.model = model
    optimizer = instantiate(cfg.optimizer)
    train_loader = instantiate(cfg.dataloader.train)
    model = create_ddp_model(model, **cfg.train.ddp)
    trainer = build_step_trainer(
        model,
        train_loader,
        optimizer,
        enabled=cfg.train.amp.enabled,
        dtype=cfg.train.amp.get("dtype", "bfloat16"),
        key="train.amp.dtype",
    )
    data_state = DataLoaderState(train_loader)
    rng = RNGState()
    checkpointer = HardSegCheckpointer(
        model, cfg.train.output_dir, trainer=trainer, rng=rng, data=data_state
    )
    main_process = comm.is_main_process()
    hook_list = [
        hooks.IterationTimer(),
        hooks.LRScheduler(scheduler=instantiate(cfg.lr_multiplier)),
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
    # EMA teacher (U2PL): after the LR scheduler, before checkpoint and eval, as in Trainer
    hook_list = add_teacher_hook(model, hook_list)
    # every process's RNG state, gathered just before each save
    period = cfg.train.checkpointer.period
    trainer.register_hooks(add_rng_gather_hook(hook_list, rng, period, cfg.train.max_iter))
    checkpointer.resume_or_load(cfg.train.init_checkpoint, resume=args.resume)
    start_iter = trainer.iter + 1 if args.resume and checkpointer.has_checkpoint() else 0
    if start_iter:  # the LR multiplier is built for train.max_iter in before_train
        check_resume_length(start_iter, cfg.train.max_iter, "train.max_iter")
    data_state.check_resumed(start_iter)
    trainer.train(start_iter, cfg.train.max_iter)


def main(args):
    cfg = load_lazy_config(args.config_file, args.opts)
    resume_note = check_lazy_resume_config(cfg, args)  # before default_setup rewrites config.yaml
    default_setup(cfg, args)
    setup_logger(cfg.train.output_dir, distributed_rank=comm.get_rank(), name="hardseg")
    if resume_note:
        logging.getLogger("hardseg").info(resume_note)
    if args.eval_only:
        model = instantiate(cfg.model).to(cfg.train.device)
        model = create_ddp_model(model)
        load_model_weights(
            model,
            cfg.train.init_checkpoint,
            allow_partial=cfg.train.get("allow_partial_weights", False),
            weights_key="train.init_checkpoint",
            override="train.allow_partial_weights=True",
        )
        return do_test(cfg, model)
    do_train(args, cfg)
