"""Checkpoints survive kills and full disks, --resume falls back to a checkpoint that loads, and
weights files are read without running code from them (issue 12, items 1, 5 and 13)."""

import builtins
import contextlib
import logging
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

from hardseg.checkpoint import CheckpointLoadError, HardSegCheckpointer
from hardseg.engine import Trainer
from tests.common import REPO, tiny_cfg


def _trainer(output_dir, *opts):
    trainer = Trainer(tiny_cfg("OUTPUT_DIR", str(output_dir), "DATASETS.TEST", "()", *opts))
    for hook in trainer._hooks:  # the writers are never used here: close them
        for writer in getattr(hook, "_writers", []):
            writer.close()
    return trainer


def _save(trainer, name, iteration, shift):
    """Save ``name`` as if after ``iteration``, with every model parameter set to ``shift``."""
    with torch.no_grad():
        for p in trainer.model.parameters():
            p.fill_(shift)
    trainer.iter = iteration
    trainer.checkpointer.save(name, iteration=iteration)


@contextlib.contextmanager
def checkpointer_warnings():
    """Collect the checkpointer's warnings (detectron2's setup_logger, run by other tests in this
    process, stops its logger from propagating to pytest's handler)."""
    logger, messages = logging.getLogger("fvcore.common.checkpoint"), []  # Checkpointer.logger
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: messages.append(record.getMessage())
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


def _resumed(output_dir):
    trainer = _trainer(output_dir)
    trainer.resume_or_load(resume=True)
    return trainer, next(trainer.model.parameters()).flatten()[0].item()


# A child process saves two checkpoints and is killed (os._exit) in the middle of a third save.
_KILL_SCRIPT = """
import builtins, io, os, sys
import torch
from tests.engine.test_checkpoint_safety import _save, _trainer

out, where = sys.argv[1], sys.argv[2]
trainer = _trainer(out)
_save(trainer, "model_0000004", 4, 1.0)
_save(trainer, "model_final", 9, 2.0)
real_save, real_open = torch.save, builtins.open

def half_written_then_killed(obj, f, *args, **kwargs):
    buf = io.BytesIO()
    real_save(obj, buf, *args, **kwargs)
    f.write(buf.getvalue()[: len(buf.getvalue()) // 2])
    f.flush()
    os._exit(9)

def killed_after_opening_last_checkpoint(file, mode="r", *args, **kwargs):
    f = real_open(file, mode, *args, **kwargs)
    if "last_checkpoint" in os.path.basename(str(file)) and "w" in mode:
        os._exit(9)
    return f

if where == "model":
    torch.save = half_written_then_killed
else:
    builtins.open = killed_after_opening_last_checkpoint
_save(trainer, "model_final", 14, 3.0)  # a resumed run's final save overwrites model_final.pth
"""


@pytest.mark.parametrize("where", ["model", "last_checkpoint"])
def test_kill_during_save_leaves_every_checkpoint_loadable(tmp_path, where):
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    )
    proc = subprocess.run(
        [sys.executable, "-c", _KILL_SCRIPT, str(tmp_path), where], cwd=REPO, env=env
    )
    assert proc.returncode == 9
    for name in ("model_0000004.pth", "model_final.pth"):
        torch.load(tmp_path / name, weights_only=True)  # complete files, no truncated one
    assert (tmp_path / "last_checkpoint").read_text() == "model_final.pth"
    trainer, value = _resumed(tmp_path)
    # killed while writing model_final.pth: the previous one is intact; killed while writing
    # last_checkpoint: the new model_final.pth was complete, and last_checkpoint still names it
    assert (trainer.start_iter, value) == ((10, 2.0) if where == "model" else (15, 3.0))


def test_resume_falls_back_to_the_newest_checkpoint_that_loads(tmp_path):
    trainer = _trainer(tmp_path)
    _save(trainer, "model_0000004", 4, 1.0)
    _save(trainer, "model_0000009", 9, 2.0)
    _save(trainer, "model_final", 14, 3.0)
    final = tmp_path / "model_final.pth"
    final.write_bytes(final.read_bytes()[:1000])  # truncated, and last_checkpoint names it
    with checkpointer_warnings() as messages:
        trainer, value = _resumed(tmp_path)
    assert trainer.start_iter == 10 and value == 2.0
    warning = "\n".join(messages)
    assert "model_0000009.pth" in warning and "model_final.pth" in warning
    assert "cannot load" in warning  # why model_final.pth was passed over

    (tmp_path / "last_checkpoint").write_text("")  # a kill while last_checkpoint was rewritten
    with checkpointer_warnings() as messages:
        trainer, value = _resumed(tmp_path)
    assert trainer.start_iter == 10 and value == 2.0
    assert "last_checkpoint is empty" in "\n".join(messages)

    for name in ("model_0000004.pth", "model_0000009.pth"):
        (tmp_path / name).write_text("")
    with pytest.raises(CheckpointLoadError, match=r"no checkpoint in .* loads.*is empty"):
        _resumed(tmp_path)


def test_disk_full_names_the_file_and_the_cause_and_keeps_the_old_file(tmp_path, monkeypatch):
    trainer = _trainer(tmp_path)
    _save(trainer, "model_final", 9, 1.0)
    real_open = builtins.open

    def full_disk(file, mode="r", *args, **kwargs):
        name = os.path.basename(str(file))
        if "model_final" in name and "w" in mode and str(tmp_path) in str(file):
            return real_open("/dev/full", mode, *args, **kwargs)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", full_disk)
    with pytest.raises(OSError) as info:
        _save(trainer, "model_final", 19, 2.0)
    monkeypatch.undo()
    headline = str(info.value).splitlines()[0]
    assert str(tmp_path / "model_final.pth") in headline and "No space left on device" in headline
    assert sorted(os.listdir(tmp_path)) == sorted(  # no temporary file left behind
        n for n in os.listdir(tmp_path) if not n.startswith(".")
    )
    _, value = _resumed(tmp_path)
    assert value == 1.0


@pytest.mark.parametrize("content", ["", "hello, these are not weights\n"])
def test_text_or_empty_weights_file_is_named(tmp_path, content):
    bad = tmp_path / "weights.pth"
    bad.write_text(content)
    trainer = _trainer(tmp_path / "out", "MODEL.WEIGHTS", str(bad))
    what = "empty" if not content else "a text file"
    with pytest.raises(CheckpointLoadError, match=rf"{bad}.*{what}.*expected a checkpoint"):
        trainer.resume_or_load(resume=False)


def test_model_zoo_pkl_with_numpy_arrays_loads(tmp_path):
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4))
    weights = {k: np.full(tuple(v.shape), 0.5, np.float32) for k, v in model.state_dict().items()}
    weights["1.num_batches_tracked"] = np.array(3, np.int64)
    path = tmp_path / "zoo.pkl"
    with open(path, "wb") as f:  # protocol 2, as detectron2's model-zoo files
        pickle.dump({"model": weights, "__author__": "test", "matching_heuristics": True}, f, 2)
    HardSegCheckpointer(model).load(str(path))
    assert (model[0].weight == 0.5).all() and model[1].num_batches_tracked.item() == 3


# ----------------------------------------------------------------- files that would run code
class _Evil:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (builtins.exec, (f"open({self.marker!r}, 'w').close()",))


def _evil_file(tmp_path, suffix):
    marker = tmp_path / "code_ran"
    path = tmp_path / f"model_0000009{suffix}"
    data = {"model": {"w": np.zeros(2)}, "__author__": "x", "evil": _Evil(marker)}
    if suffix == ".pkl":
        with open(path, "wb") as f:
            pickle.dump(data, f, 2)
    else:
        torch.save(data, path)
    pickle.loads(pickle.dumps(_Evil(tmp_path / "check")))  # the payload does run when unpickled
    assert (tmp_path / "check").exists()
    return path, marker


def _tool_module(name):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


YAML = "configs/quick_schedules/deeplabv3plus_R18_instant_test.yaml"
HL_YAML = "configs/quick_schedules/deeplabv3plus_R18_hl_instant_test.yaml"
LAZY = "configs/lazy/quick_schedules/deeplabv3plus_R18_instant_test.py"


def _train_net(*argv):
    from detectron2.engine import default_argument_parser

    argv = ["--config-file", str(REPO / YAML), *map(str, argv)]
    args = default_argument_parser().parse_args(argv)
    return _tool_module("train_net").main(args)


def _lazy(*argv):
    from detectron2.engine import default_argument_parser

    from hardseg.engine.lazy import main

    argv = ["--config-file", str(REPO / LAZY), *map(str, argv)]
    return main(default_argument_parser().parse_args(argv))


def _panels(script, config, weights, out):
    from hardseg.engine.panel_tool import panel_tool_main
    from hardseg.utils.hardness_vis import save_hardness_panels
    from hardseg.utils.visualize import save_prediction_panels

    save = save_hardness_panels if script == "hardness" else save_prediction_panels
    argv = ["--config-file", str(REPO / config), "--output", str(out), "--num-images", "1"]
    panel_tool_main("", "vis", save, argv + ["MODEL.WEIGHTS", str(weights)])


def _resume_dir(path, out):
    out.mkdir()
    os.replace(path, out / path.name)
    (out / "last_checkpoint").write_text(path.name)


LOADERS = {
    "train_net MODEL.WEIGHTS": lambda p, out: _train_net("MODEL.WEIGHTS", p, "OUTPUT_DIR", out),
    "train_net --eval-only": lambda p, out: _train_net(
        "--eval-only", "MODEL.WEIGHTS", p, "OUTPUT_DIR", out
    ),
    "train_net --resume": lambda p, out: (
        _resume_dir(p, out),
        _train_net("--resume", "OUTPUT_DIR", out),
    ),
    "lazy init_checkpoint": lambda p, out: _lazy(
        f"train.init_checkpoint={p}", f"train.output_dir={out}"
    ),
    "lazy --eval-only": lambda p, out: _lazy(
        "--eval-only", f"train.init_checkpoint={p}", f"train.output_dir={out}"
    ),
    "lazy --resume": lambda p, out: (
        _resume_dir(p, out),
        _lazy("--resume", f"train.output_dir={out}"),
    ),
    "visualize_predictions": lambda p, out: _panels("predictions", YAML, p, out),
    "visualize_hardness": lambda p, out: _panels("hardness", HL_YAML, p, out),
    "convert_mmseg_checkpoint": lambda p, out: _tool_module("convert_mmseg_checkpoint").main(
        [str(p), str(out) + ".pth"]
    ),
}


@pytest.mark.parametrize("suffix", [".pkl", ".pth"])
@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_no_loader_runs_code_from_a_weights_file(tmp_path, loader, suffix):
    path, marker = _evil_file(tmp_path, suffix)
    with pytest.raises(
        CheckpointLoadError,
        match=r"refused to load: it names the Python global '(builtins\.)?exec'",
    ):
        LOADERS[loader](path, tmp_path / "out")
    assert not marker.exists()
