"""--resume with another schedule length or another config (issue 12, items 3 and 4)."""

import pytest

from detectron2.engine import default_argument_parser

from hardseg.engine import Trainer, setup_cfg
from hardseg.engine.lazy import main as lazy_main
from hardseg.model_zoo import get_config_file
from tests.common import hardseg_log

YAML = get_config_file("quick_schedules/deeplabv3plus_R18_instant_test.yaml")
LAZY = get_config_file("lazy/quick_schedules/deeplabv3plus_R18_instant_test.py")
# 10 iterations (warmup 5), no evaluation: a checkpoint at iteration 9 (model_final.pth).
QUICK = ["SOLVER.MAX_ITER", "10", "SOLVER.CHECKPOINT_PERIOD", "100", "TEST.EVAL_PERIOD", "0"]
QUICK += ["DATASETS.TEST", "()"]


def _args(*argv):
    return default_argument_parser().parse_args(["--config-file", YAML, *map(str, argv)])


def _train(output_dir, *opts, resume=False):
    """tools/train_net.py's main, in this process. Returns the trainer after training."""
    opts = [*QUICK, "OUTPUT_DIR", str(output_dir), *map(str, opts)]
    cfg = setup_cfg(YAML, opts, args=_args(*(["--resume"] if resume else []), *opts))
    trainer = Trainer(cfg)
    trainer.resume_or_load(resume=resume)
    trainer.train()
    return trainer


@pytest.fixture(scope="module")
def ten_iterations(tmp_path_factory):
    out = tmp_path_factory.mktemp("ten")
    _train(out)
    return out


def _copy_run(src, dst):
    import shutil

    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("events.out.*"))
    return dst


def test_extending_a_run_recomputes_the_schedule(ten_iterations, tmp_path):
    out = _copy_run(ten_iterations, tmp_path / "run")
    lrs = []
    with hardseg_log() as messages:
        opts = [*QUICK, "OUTPUT_DIR", str(out), "SOLVER.MAX_ITER", "12"]
        trainer = Trainer(setup_cfg(YAML, opts, args=_args("--resume", *opts)))
        trainer.resume_or_load(resume=True)
        assert trainer.start_iter == 10
        lrs.append(trainer.optimizer.param_groups[0]["lr"])
        trainer.train()  # used to fail with "math domain error" at iteration 11
    assert trainer.iter == 12 and trainer.scheduler.max_iters == 12
    base_lr = trainer.cfg.SOLVER.BASE_LR
    # warmup (5 iterations) is over: the poly factor of iteration 10 of 12
    assert lrs[0] == pytest.approx(base_lr * (1 - 10 / 12) ** 0.9, rel=1e-6)
    text = "\n".join(messages)
    assert "max_iters 10 -> 12" in text
    assert "Resuming at iteration 10 of SOLVER.MAX_ITER=12" in text
    assert "SOLVER.MAX_ITER: 10 -> 12" in text  # the allowed config change is reported

    # shortening below the checkpoint (now at iteration 11) says what to do
    with pytest.raises(ValueError, match=r"iteration 11, past SOLVER.MAX_ITER=8.*--eval-only"):
        _train(out, "SOLVER.MAX_ITER", 8, resume=True)


def test_a_model_change_on_resume_is_refused_before_anything_is_written(ten_iterations, tmp_path):
    out = _copy_run(ten_iterations, tmp_path / "run")
    before = {name: (out / name).read_bytes() for name in ("config.yaml", "metrics.json")}
    opts = [*QUICK, "OUTPUT_DIR", str(out), "MODEL.SEM_SEG_HEAD.NUM_CLASSES", "5"]
    opts += ["MODEL.SEM_SEG_HEAD.CONVS_DIM", "32", "SOLVER.MAX_ITER", "12"]
    with pytest.raises(ValueError) as info:
        setup_cfg(YAML, opts, args=_args("--resume", *opts))
    message = str(info.value)
    assert "MODEL.SEM_SEG_HEAD.NUM_CLASSES: 7 -> 5" in message
    assert "MODEL.SEM_SEG_HEAD.CONVS_DIM: 16 -> 32" in message
    assert "SOLVER.MAX_ITER" not in message  # allowed: not among the refused keys
    assert "new OUTPUT_DIR" in message and "SOLVER.RESUME_ALLOW_MODEL_CHANGE" in message
    assert before == {name: (out / name).read_bytes() for name in before}

    # a change that keeps every shape can be allowed explicitly
    opts = [*QUICK, "OUTPUT_DIR", str(out), "MODEL.SEM_SEG_HEAD.LOSS_WEIGHT", "2.0"]
    opts += ["SOLVER.RESUME_ALLOW_MODEL_CHANGE", "True"]
    cfg = setup_cfg(YAML, opts, args=_args("--resume", *opts))
    assert cfg.MODEL.SEM_SEG_HEAD.LOSS_WEIGHT == 2.0
    # --eval-only and fresh runs are not resumes: no check
    setup_cfg(YAML, [*QUICK, "OUTPUT_DIR", str(out), "MODEL.SEM_SEG_HEAD.NUM_CLASSES", "5"])


def _lazy(output_dir, *overrides, resume=False):
    argv = ["--config-file", LAZY, *(["--resume"] if resume else [])]
    argv += [f"train.output_dir={output_dir}", "train.checkpointer.period=100", *overrides]
    lazy_main(default_argument_parser().parse_args(argv))


def test_lazy_resume_with_another_max_iter(tmp_path):
    _lazy(tmp_path, "train.max_iter=4", "lr_multiplier.warmup_length=0.25")
    with hardseg_log() as messages:
        _lazy(tmp_path, "train.max_iter=6", "lr_multiplier.warmup_length=0.25", resume=True)
    assert "Resuming at iteration 4 of train.max_iter=6" in "\n".join(messages)
    with pytest.raises(ValueError, match=r"iteration 5, past train.max_iter=3"):
        _lazy(tmp_path, "train.max_iter=3", resume=True)
    # a model change is refused before config.yaml is rewritten
    saved = (tmp_path / "config.yaml").read_bytes()
    with pytest.raises(ValueError, match=r"model.sem_seg_head.num_classes: 7 -> 5.*resume_allow"):
        _lazy(tmp_path, "train.max_iter=8", "model.sem_seg_head.num_classes=5", resume=True)
    assert (tmp_path / "config.yaml").read_bytes() == saved
