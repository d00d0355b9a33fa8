"""U2PL end to end from tools/train_net.py on hardshapes 1/16, resume of an interrupted run, and
the teacher's EMA in a LazyConfig run."""

import json
import random
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from hardseg.engine import Trainer
from hardseg.engine.lazy import do_train, load_lazy_config
from hardseg.model_zoo import CONFIG_ROOT, get_config_file
from tests.common import read_metrics, run_tool, tiny_cfg

CONFIG = "hardshapes/u2pl_deeplabv3plus_R18_instant_test_1-16.yaml"
LAZY = "lazy/hardshapes/u2pl_deeplabv3plus_R18_instant_test_1-16.py"
# 6 iterations, epochs of 2: iterations 0-1 sup-only, 2-5 semi-supervised; a checkpoint after
# iteration 3. The paper's negative rule fills the queues from the first semi iteration on, and
# with no anchor-probability threshold the barely trained model still has anchors, so the
# contrastive loss is not 0.
OPTS = [
    "SOLVER.MAX_ITER", 6,
    "SOLVER.CHECKPOINT_PERIOD", 4,
    "MODEL.SEMISUP.EPOCH_ITERS", 2,
    "MODEL.SEMISUP.MIX_PROB", 1.0,
    "MODEL.SEMISUP.U2PL.NEGATIVE_RULE", "paper",
    "MODEL.SEMISUP.U2PL.ANCHOR_PROB_THRESH", 0.0,
]  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("u2pl")
    log = run_tool(
        "train_net.py", "--config-file", get_config_file(CONFIG), *OPTS, "OUTPUT_DIR", out
    )
    return out, log


def _load(path):
    return torch.load(path, map_location="cpu")  # weights_only=True


def test_train_net_runs_u2pl_and_evaluates_the_teacher(trained):
    out, log = trained
    assert "Starting training from iteration 0" in log
    assert "loss_sem_seg_unsup" in log and "loss_contrast" in log
    assert 0 <= read_metrics(out)["sem_seg"]["mIoU"] <= 100
    with open(out / "metrics.json") as f:
        last = [json.loads(line) for line in f if "loss_contrast" in line][-1]
    assert last["iteration"] == 5
    # medians over iterations 0-5: 4 of the 6 are semi-supervised, with contrastive terms
    assert last["loss_contrast"] > 0 and last["loss_sem_seg_unsup"] > 0
    assert last["u2pl/contrast_terms"] > 0 and last["u2pl/queue_fill"] > 0
    final = _load(out / "model_final.pth")
    model = final["model"]
    assert final["iteration"] == 5
    assert bool(model["teacher_synced"])
    assert int(model["queues.length"].sum()) > 0
    # after 4 semi-supervised steps the teacher is an EMA of the student, not a copy
    key = "segmentor.sem_seg_head.predictor.weight"
    assert not torch.equal(model["teacher." + key], model["student." + key])
    # the teacher's BN statistics are its own (never copied from the student)
    bn = next(k for k in model if k.startswith("teacher.") and k.endswith("running_mean"))
    assert not torch.equal(model[bn], model["student." + bn[len("teacher.") :]])


def test_resume_restores_student_teacher_queues_iteration_scheduler_and_rng(trained, tmp_path):
    out, _ = trained
    shutil.copy(out / "model_0000003.pth", tmp_path / "model_0000003.pth")
    (tmp_path / "last_checkpoint").write_text("model_0000003.pth")
    saved = _load(tmp_path / "model_0000003.pth")
    assert saved["iteration"] == 3 and int(saved["model"]["queues.length"].sum()) > 0

    cfg = tiny_cfg(*OPTS, "OUTPUT_DIR", str(tmp_path), "DATASETS.TEST", "()", config=CONFIG)
    trainer = Trainer(cfg)
    names = [type(h).__name__ for h in trainer._hooks]
    # the teacher is updated after the optimizer/LR steps and before checkpointing and eval
    assert names.index("LRScheduler") < names.index("TeacherEMAHook")
    assert names.index("TeacherEMAHook") < names.index("PeriodicCheckpointer")
    assert names.index("TeacherEMAHook") < names.index("EvalHook")
    # move every RNG and the scheduler away from the checkpoint's state before resuming
    random.seed(1234)
    np.random.seed(1234)
    torch.manual_seed(1234)
    assert trainer.scheduler.last_epoch == 0
    trainer.resume_or_load(resume=True)
    assert trainer.start_iter == 4
    # RNG streams: Python, NumPy and torch continue from the checkpoint
    rng = saved["rng"]
    assert random.getstate() == rng["python"]
    name, keys, pos, has_gauss, cached = np.random.get_state()
    assert (name, pos, has_gauss, cached) == (rng["numpy"][0], *rng["numpy"][2:])
    assert np.array_equal(keys.astype(np.int64), rng["numpy"][1].numpy())
    state = trainer.model.state_dict()
    assert state.keys() == saved["model"].keys()
    for prefix in ("student.", "teacher.", "queues.", "teacher_synced"):
        keys = [k for k in state if k.startswith(prefix)]
        assert keys, prefix
        for k in keys:
            assert torch.equal(state[k], saved["model"][k]), k
    assert torch.equal(torch.get_rng_state(), saved["rng"]["torch"])
    opt_state = trainer.optimizer.state_dict()["state"]
    assert len(opt_state) == len(saved["trainer"]["_trainer"]["optimizer"]["state"]) > 0
    # the LR scheduler: stepped after iterations 0-3, and the optimizer's current LRs
    sched = saved["trainer"]["hooks"]["LRScheduler"]
    assert sched["last_epoch"] == 4
    assert trainer.scheduler.state_dict() == sched
    saved_lrs = [g["lr"] for g in saved["trainer"]["_trainer"]["optimizer"]["param_groups"]]
    assert [g["lr"] for g in trainer.optimizer.param_groups] == saved_lrs
    assert trainer.scheduler.get_last_lr() == saved_lrs
    for hook in trainer._hooks:  # the writers were opened but never run: close them
        for writer in getattr(hook, "_writers", []):
            writer.close()

    log = run_tool(
        "train_net.py", "--config-file", get_config_file(CONFIG), "--resume", *OPTS,
        "DATASETS.TEST", "()", "OUTPUT_DIR", tmp_path,
    )  # fmt: skip
    assert "Starting training from iteration 4" in log
    assert _load(tmp_path / "model_final.pth")["iteration"] == 5


def test_lazy_run_updates_the_teacher(tmp_path):
    """3 iterations of the LazyConfig loop with epochs of 1 iteration: 0 sup-only, 1 (teacher <-
    student copy in the forward, then EMA with m = 0), 2 (EMA with m = 1/2). Only
    TeacherEMAHook can make the teacher equal the student *after* the step of iteration 1 and
    average it with the student after iteration 2."""
    cfg = load_lazy_config(
        str(CONFIG_ROOT / LAZY),
        [
            "train.max_iter=3",
            "train.checkpointer.period=1",
            "train.eval_period=0",
            "model.config.epoch_iters=1",
            f"train.output_dir={tmp_path}",
        ],
    )
    del cfg.dataloader.evaluator  # no evaluation (do_test returns {})
    do_train(SimpleNamespace(resume=False), cfg)
    ckpt = [_load(tmp_path / f"model_000000{i}.pth")["model"] for i in range(3)]

    def params(state, who):  # parameters only: the teacher's BN statistics are its own
        return {
            k[len(who) :]: v
            for k, v in state.items()
            if k.startswith(who) and "running_" not in k and "num_batches" not in k
        }

    t0, t1, t2 = (params(c, "teacher.") for c in ckpt)
    s1, s2 = params(ckpt[1], "student."), params(ckpt[2], "student.")
    assert not bool(ckpt[0]["teacher_synced"]) and bool(ckpt[2]["teacher_synced"])
    key = "segmentor.sem_seg_head.predictor.weight"
    assert not torch.equal(t2[key], t0[key])  # the teacher moved
    for k in t1:
        assert torch.equal(t1[k], s1[k]), k  # m = 0 after iteration 1
        torch.testing.assert_close(t2[k], 0.5 * t1[k] + 0.5 * s2[k], msg=k)  # m = 1/2
    assert not torch.equal(t2[key], s2[key])
