"""The hardshapes -> hardshapes_shifted HIAST chain end to end (stages 0-1, rounds 1-3, tiny
iteration counts), and a chain interrupted at a round boundary ends with the same weights."""

import json
import os

import pytest
import torch

from hardseg.checkpoint import load_checkpoint_file
from hardseg.engine.self_training import run_chain
from hardseg.model_zoo import get_config_file

from .common import ROUND, SOURCE, WARMUP, register_tiny_target


def _chain(out, stop_after=None):
    target = register_tiny_target()
    return run_chain(
        out=str(out),
        source_config=get_config_file(SOURCE),
        round_config=get_config_file(ROUND),
        warmup_config=get_config_file(WARMUP),
        opts=["DATASETS.TEST", "()"],
        round_opts=["DATASETS.TRAIN", f"('{target}',)"],
        stop_after=stop_after,
    )


@pytest.fixture
def one_thread():
    """Bit-identity needs deterministic kernels: with 2 intra-op threads, two *uninterrupted*
    chains already end with different weights (68 of 128 tensors, differences ~1e-6: some CPU
    kernels of this model reduce in a thread-dependent order), so the comparison runs on one."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_chain_end_to_end_and_resume_at_round_boundary(tmp_path, one_thread):
    final = _chain(tmp_path / "a")
    with open(tmp_path / "a" / "chain_state.json") as f:
        done = json.load(f)["done"]
    assert done == ["stage0", "stage1"] + [
        s for r in (1, 2, 3) for s in (f"round{r}_labels", f"round{r}")
    ]
    # each round's config records its inputs: round 2 starts from round 1's student and labels
    # were made by round 1's teacher
    with open(tmp_path / "a" / "round2" / "train" / "config.yaml") as f:
        text = f.read()
    assert str(tmp_path / "a" / "round1" / "student.pth") in text
    assert str(tmp_path / "a" / "round2" / "pseudo") in text
    with open(tmp_path / "a" / "round2" / "pseudo" / "stats.json") as f:
        stats = json.load(f)
    assert stats["weights"] == str(tmp_path / "a" / "round1" / "teacher.pth")
    assert stats["num_images"] == 16 and sum(stats["pixel_counts"]) > 0

    # interrupted after round 1, then the same command again
    _chain(tmp_path / "b", stop_after="round1")
    assert not os.path.exists(tmp_path / "b" / "round2")
    resumed = _chain(tmp_path / "b")
    a, b = load_checkpoint_file(final)["model"], load_checkpoint_file(resumed)["model"]
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # round 1 labelled with, and started from, the warm-up's segmentor
    with open(tmp_path / "a" / "round1" / "pseudo" / "stats.json") as f:
        assert json.load(f)["weights"] == str(tmp_path / "a" / "stage1" / "segmentor.pth")
    # training moved the student away from the source model
    s0 = load_checkpoint_file(str(tmp_path / "a" / "stage0" / "model_final.pth"))["model"]
    assert any(not torch.equal(s0[k], a[k]) for k in a if k.endswith("weight"))
