"""U2PL end to end from tools/train_net.py on hardshapes 1/16, and resume of an interrupted run."""

import json
import shutil

import pytest
import torch

from hardseg.engine import Trainer
from hardseg.model_zoo import get_config_file
from tests.common import read_metrics, run_tool, tiny_cfg

CONFIG = "hardshapes/u2pl_deeplabv3plus_R18_instant_test_1-16.yaml"
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


def test_resume_restores_student_teacher_queues_iteration_and_rng(trained, tmp_path):
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
    trainer.resume_or_load(resume=True)
    assert trainer.start_iter == 4
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
    for hook in trainer._hooks:  # the writers were opened but never run: close them
        for writer in getattr(hook, "_writers", []):
            writer.close()

    log = run_tool(
        "train_net.py", "--config-file", get_config_file(CONFIG), "--resume", *OPTS,
        "DATASETS.TEST", "()", "OUTPUT_DIR", tmp_path,
    )  # fmt: skip
    assert "Starting training from iteration 4" in log
    assert _load(tmp_path / "model_final.pth")["iteration"] == 5
