"""The HIAST chain (docs/methods/hiast.md §3): stage 0 (source only), optionally stage 1
(adversarial warm-up), then rounds r = 1..R, each an ordinary training run.

Round r labels the target with G_r (the last stage's model for r = 1, the EMA teacher of round
r−1 afterwards) and starts its student from the last stage's model (r = 1) or the student of
round r−1. Layout under ``out``::

    stage0/ stage1/                   training runs (model_final.pth; stage1/segmentor.pth)
    round<r>/pseudo/                  labels + stats.json
    round<r>/train/                   the round's run (its config.yaml records its inputs)
    round<r>/student.pth teacher.pth  the round's final branches as plain per-pixel models
    chain_state.json                  the steps finished so far

A step listed in chain_state.json is never redone; an interrupted training step continues from
its last checkpoint (``--resume``), an interrupted labelling step starts again.
"""

import json
import logging
import os
from typing import List, Optional, Sequence

import torch

from detectron2.engine import default_argument_parser

from ..checkpoint import atomic_write, load_checkpoint_file
from .defaults import setup_cfg
from .pseudo_labels import generate_pseudo_labels

__all__ = ["run_chain", "export_branches", "export_per_pixel"]

logger = logging.getLogger(__name__)
STATE = "chain_state.json"


def _load_state(out: str) -> List[str]:
    path = os.path.join(out, STATE)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return json.load(f)["done"]


def _mark_done(out: str, done: List[str], step: str) -> None:
    done.append(step)
    data = json.dumps({"done": done}, indent=1).encode()
    atomic_write(os.path.join(out, STATE), lambda f: f.write(data))


def train_stage(config_file: str, opts: Sequence[str], resume: bool) -> str:
    """One ``train_net.py`` run in this process; returns its model_final.pth."""
    from .trainer import Trainer

    argv = ["--config-file", config_file] + (["--resume"] if resume else []) + list(opts)
    args = default_argument_parser().parse_args(argv)
    cfg = setup_cfg(args.config_file, args.opts, args=args)
    trainer = Trainer(cfg)
    trainer.resume_or_load(resume=resume)
    trainer.train()
    return os.path.join(cfg.OUTPUT_DIR, "model_final.pth")


def export_per_pixel(checkpoint: str, prefix: str, path: str) -> str:
    """The ``prefix`` part of a checkpoint's model (e.g. "student.", "segmentor.") saved at
    ``path`` as a plain per-pixel model ``{"model": state dict}`` (read with HardSeg's safe
    loader)."""
    model = load_checkpoint_file(checkpoint)["model"]
    sd = {k[len(prefix) :]: v for k, v in model.items() if k.startswith(prefix)}
    if not sd:
        raise ValueError(f"{checkpoint}: no {prefix}* keys to export.")
    atomic_write(path, lambda f: torch.save({"model": sd}, f))
    return path


def export_branches(checkpoint: str, out_dir: str) -> None:
    """A HIAST round's checkpoint -> ``student.pth`` and ``teacher.pth`` in ``out_dir``."""
    for branch in ("student", "teacher"):
        export_per_pixel(checkpoint, branch + ".", os.path.join(out_dir, f"{branch}.pth"))


def run_chain(
    *,
    out: str,
    source_config: str,
    round_config: str,
    warmup_config: str = "",
    opts: Sequence[str] = (),
    round_opts: Sequence[str] = (),
    seed: int = 0,
    stop_after: Optional[str] = None,
) -> str:
    """Run (or continue) the chain; returns the last round's ``student.pth``. ``opts`` apply
    to every stage, ``round_opts`` to the rounds only; ``stop_after`` names a step
    ("stage0", "stage1", "round<r>") after which to stop (e.g. to split a chain in jobs)."""
    os.makedirs(out, exist_ok=True)
    done = _load_state(out)
    if done:
        logger.info(f"HIAST chain in {out}: continuing after {done[-1]}")
    stages = [("stage0", source_config)] + ([("stage1", warmup_config)] if warmup_config else [])
    model = ""
    for i, (name, config) in enumerate(stages):
        # stage 1's checkpoint holds the discriminator too: its segmentor is exported
        final = os.path.join(out, name, "model_final.pth" if i == 0 else "segmentor.pth")
        if name not in done:
            stage_opts = ["OUTPUT_DIR", os.path.join(out, name)]
            if i > 0:
                stage_opts += ["MODEL.WEIGHTS", model]
            trained = train_stage(config, [*opts, *stage_opts], resume=True)
            if i > 0:
                export_per_pixel(trained, "segmentor.", final)
            _mark_done(out, done, name)
        model = final
        if stop_after == name:
            return model

    round_cfg = setup_cfg(round_config, [*opts, *round_opts])
    lrs = list(round_cfg.MODEL.UDA.HIAST.ROUND_LRS)
    multiplier = round_cfg.SOLVER.BACKBONE_MULTIPLIER
    labeller, student = model, model
    for r, lr in enumerate(lrs, start=1):
        rdir = os.path.join(out, f"round{r}")
        pseudo = os.path.join(rdir, "pseudo")
        if f"round{r}_labels" not in done:
            cfg = setup_cfg(round_config, [*opts, *round_opts, "MODEL.WEIGHTS", labeller])
            generate_pseudo_labels(cfg, pseudo, seed=seed, overwrite=True)
            _mark_done(out, done, f"round{r}_labels")
        if f"round{r}" not in done:
            run_opts = [
                "MODEL.WEIGHTS", student,
                "DATASETS.PSEUDO_LABEL_DIR", pseudo,
                "SOLVER.BASE_LR", str(lr / multiplier),
                "OUTPUT_DIR", os.path.join(rdir, "train"),
            ]  # fmt: skip
            final = train_stage(round_config, [*opts, *round_opts, *run_opts], resume=True)
            export_branches(final, rdir)
            _mark_done(out, done, f"round{r}")
        labeller = os.path.join(rdir, "teacher.pth")
        student = os.path.join(rdir, "student.pth")
        if stop_after == f"round{r}":
            break
    return student
