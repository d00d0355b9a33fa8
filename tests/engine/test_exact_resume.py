"""An interrupted-and-resumed run ends with the same weights, bit for bit on CPU, as the
uninterrupted run with the same seed: the data position (order and augmentation seeds) is part of
the checkpoint. Per-pixel and U2PL from tools/train_net.py, per-pixel from the LazyConfig tool,
with 2 loader workers (as the hardshapes configs use) and an interruption after 3 iterations (not
a multiple of the worker count). "Interrupted" is emulated as the other resume tests do it: a
fresh output directory holding only the checkpoint written after iteration 2."""

import shutil

import torch

from hardseg.model_zoo import get_config_file
from tests.common import INSTANT_CONFIG, run_tool

U2PL = "hardshapes/u2pl_deeplabv3plus_R18_instant_test_1-16.yaml"
LAZY = "lazy/quick_schedules/deeplabv3plus_R18_instant_test.py"
# 7 iterations, a checkpoint after iterations 2 and 5 (period 3), 2 workers, no evaluation
YAML_OPTS = [
    "SOLVER.MAX_ITER", 7,
    "SOLVER.CHECKPOINT_PERIOD", 3,
    "DATALOADER.NUM_WORKERS", 2,
    "TEST.EVAL_PERIOD", 0,
    "DATASETS.TEST", "()",
]  # fmt: skip
# U2PL: epochs of 2 iterations, so iterations 2-6 are semi-supervised (strong augmentation and
# CutMix on every step, drawn from the training process's RNG) on both sides of the resume.
U2PL_OPTS = [
    "MODEL.SEMISUP.EPOCH_ITERS", 2,
    "MODEL.SEMISUP.MIX_PROB", 1.0,
    "MODEL.SEMISUP.U2PL.NEGATIVE_RULE", "paper",
    "MODEL.SEMISUP.U2PL.ANCHOR_PROB_THRESH", 0.0,
]  # fmt: skip


def _weights(path):
    return torch.load(path, map_location="cpu")["model"]  # weights_only=True


def _interrupted_copy(out, dst, checkpoint="model_0000002.pth"):
    """``dst``: an output directory whose run was killed after ``checkpoint`` was written."""
    dst.mkdir()
    shutil.copy(out / checkpoint, dst / checkpoint)
    (dst / "last_checkpoint").write_text(checkpoint)


def _assert_same_weights(a, b):
    assert a.keys() == b.keys()
    differ = [k for k in a if not torch.equal(a[k], b[k])]
    assert not differ, f"{len(differ)} of {len(a)} tensors differ, e.g. {differ[:3]}"


def _train_then_resume(tmp_path, config, *opts, flags=()):
    full, resumed = tmp_path / "full", tmp_path / "resumed"
    cfg, opts = ["--config-file", get_config_file(config), *flags], [*YAML_OPTS, *opts]
    run_tool("train_net.py", *cfg, *opts, "OUTPUT_DIR", full)
    _interrupted_copy(full, resumed)
    log = run_tool("train_net.py", *cfg, "--resume", *opts, "OUTPUT_DIR", resumed)
    assert "Starting training from iteration 3" in log
    return full, resumed, log


def test_resumed_per_pixel_run_has_the_uninterrupted_weights(tmp_path):
    full, resumed, log = _train_then_resume(tmp_path, INSTANT_CONFIG)
    assert "continuing the order of seed" in log and "at sample 6" in log  # 3 steps x 2 images
    data = torch.load(full / "model_0000002.pth", map_location="cpu")["data"]
    assert (data["position"], data["batch_size"], data["world_size"]) == (6, 2, 1)
    _assert_same_weights(_weights(resumed / "model_final.pth"), _weights(full / "model_final.pth"))

    # A checkpoint from before the data position was saved still resumes, saying the order
    # restarts (and then the weights differ: the first batches are seen again).
    old = tmp_path / "old"
    _interrupted_copy(full, old)
    ckpt = torch.load(old / "model_0000002.pth", map_location="cpu")
    del ckpt["data"]
    torch.save(ckpt, old / "model_0000002.pth")
    args = ["--config-file", get_config_file(INSTANT_CONFIG), "--resume", *YAML_OPTS]
    log = run_tool("train_net.py", *args, "OUTPUT_DIR", old)
    assert "Starting training from iteration 3" in log
    assert "without the data position" in log and "restarts from its seed" in log
    a, b = _weights(old / "model_final.pth"), _weights(full / "model_final.pth")
    assert any(not torch.equal(a[k], b[k]) for k in a)


def test_resumed_run_on_two_processes_has_the_uninterrupted_weights(tmp_path):
    # Each process takes 1 image per step from its half of the order; rank 0 saves the position
    # and every process's RNG state (gathered before the save, hardseg/engine/rng.py), so rank 1
    # draws the same dropout masks (ASPP dropout 0.1) after the resume as without it. No loader
    # workers (covered above), to keep the four processes on a 2-core machine quick.
    opts = ["DATALOADER.NUM_WORKERS", 0]
    # "--dist-url auto": a free port (detectron2's default port is fixed per user, so two test
    # runs at once would join each other's process group)
    flags = ["--num-gpus", 2, "--dist-url", "auto"]
    full, resumed, log = _train_then_resume(tmp_path, INSTANT_CONFIG, *opts, flags=flags)
    assert "World size: 2" in log and "at sample 6" in log
    data = torch.load(full / "model_0000002.pth", map_location="cpu")["data"]
    assert (data["position"], data["batch_size"], data["world_size"]) == (6, 1, 2)
    ranks = torch.load(full / "model_0000002.pth", map_location="cpu")["rng"]["ranks"]
    assert len(ranks) == 2 and not torch.equal(ranks[0]["torch"], ranks[1]["torch"])
    _assert_same_weights(_weights(resumed / "model_final.pth"), _weights(full / "model_final.pth"))


def test_resumed_u2pl_run_has_the_uninterrupted_weights(tmp_path):
    full, resumed, log = _train_then_resume(tmp_path, U2PL, *U2PL_OPTS)
    assert "'labeled': continuing" in log and "'unlabeled': continuing" in log
    data = torch.load(full / "model_0000002.pth", map_location="cpu")["data"]
    assert data["labeled"]["position"] == data["unlabeled"]["position"] == 6
    assert data["labeled"]["seed"] != data["unlabeled"]["seed"]
    final = _weights(resumed / "model_final.pth")
    assert any(k.startswith("teacher.") for k in final) and int(final["queues.length"].sum()) > 0
    _assert_same_weights(final, _weights(full / "model_final.pth"))


def test_resumed_lazy_run_has_the_uninterrupted_weights(tmp_path):
    full, resumed = tmp_path / "full", tmp_path / "resumed"
    cfg = ["--config-file", get_config_file(LAZY)]
    opts = ["train.max_iter=7", "train.checkpointer.period=3", "dataloader.train.num_workers=2"]
    run_tool("lazyconfig_train_net.py", *cfg, *opts, f"train.output_dir={full}")
    _interrupted_copy(full, resumed)
    log = run_tool(
        "lazyconfig_train_net.py", *cfg, "--resume", *opts, f"train.output_dir={resumed}"
    )
    assert "Starting training from iteration 3" in log and "at sample 6" in log
    _assert_same_weights(_weights(resumed / "model_final.pth"), _weights(full / "model_final.pth"))
