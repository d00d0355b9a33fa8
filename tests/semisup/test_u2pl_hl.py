"""U2PL + HL: the HL-weighted supervised loss on the labeled rows, which losses reach which
parameters, the teacher's unused HL branch, the twin configs, and a few training iterations."""

import json

import pytest
import torch
from torch.nn import functional as F

from detectron2.config import instantiate
from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from hardseg.engine import Trainer
from hardseg.engine.lazy import load_lazy_config
from hardseg.model_zoo import CONFIG_ROOT
from hardseg.modeling import HardnessHead
from tests.common import random_batch, tiny_cfg

CONFIG = "hardshapes/u2pl_deeplabv3plus_R18_hl_instant_test_1-16.yaml"
LAZY = "lazy/hardshapes/u2pl_deeplabv3plus_R18_hl_instant_test_1-16.py"
EPOCH = 5  # MODEL.SEMISUP.EPOCH_ITERS of that config; SUP_ONLY_EPOCHS 1
EPS, LAMBDA = 0.1, 0.01  # MODEL.HARDNESS.EPS / LOSS_WEIGHT of that config
LOSSES = {"loss_sem_seg", "loss_hardness", "loss_sem_seg_unsup", "loss_contrast"}
# The paper's negative rule and no anchor threshold: the contrastive loss is not 0 from the
# second semi-supervised iteration on, even for an untrained model.
CONTRAST_OPTS = [
    "MODEL.SEMISUP.SUP_ONLY_EPOCHS", 0,
    "MODEL.SEMISUP.MIX_PROB", 1.0,
    "MODEL.SEMISUP.U2PL.NEGATIVE_RULE", "paper",
    "MODEL.SEMISUP.U2PL.ANCHOR_PROB_THRESH", 0.0,
]  # fmt: skip


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = build_model(tiny_cfg(config=CONFIG))
    assert m.hardness and isinstance(m.student.segmentor.sem_seg_head, HardnessHead)
    return m


def _batch(seed, n=2, size=32):
    return {
        "labeled": random_batch(n, size, size, seed=seed),
        "unlabeled": random_batch(n, size, size, seed=seed + 100, with_labels=False),
    }


def _outputs(module, store, key):
    """Forward hook storing ``module``'s output under ``store[key]``; returns the handle."""
    return module.register_forward_hook(lambda m, i, o: store.__setitem__(key, o.detach()))


def _grads(loss, params):
    return torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)


def _nonzero(grads):
    return any(g is not None and g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("iteration", [EPOCH - 1, EPOCH], ids=["sup_only", "semi"])
def test_supervised_loss_is_hl_weighted_over_the_labeled_batch(model, iteration):
    """loss_sem_seg = sum(w * l), loss_hardness = -lambda * sum(w * l), with w worked out here
    from the HL branch's own logits and l the per-pixel CE of the labeled rows."""
    head = model.student.segmentor.sem_seg_head
    seen = {}
    hooks = [_outputs(head.seg.predictor, seen, "logits"), _outputs(head.hl.predictor, seen, "z")]
    model.train()
    batch = _batch(iteration)
    try:
        with EventStorage(iteration) as storage:
            losses = model(batch)
    finally:
        for h in hooks:
            h.remove()
    assert set(losses) == LOSSES
    n_l = len(batch["labeled"])
    # the decode head runs on [labeled, unlabeled] in the semi phase, the HL branch on labeled only
    assert seen["logits"].shape[0] == (n_l if iteration < EPOCH else 2 * n_l)
    assert seen["z"].shape == (n_l, 1, 8, 8)  # stride 4 of the 32 x 32 images
    targets = torch.stack([x["sem_seg"] for x in batch["labeled"]])  # (2, 32, 32), 255 at top
    logits = F.interpolate(seen["logits"][:n_l], size=(32, 32), mode="bilinear")
    pixel_loss = F.cross_entropy(logits, targets, ignore_index=255, reduction="none")
    z = F.interpolate(seen["z"], size=(32, 32), mode="bilinear")[:, 0]
    h = torch.sigmoid(z) + EPS
    w = h / h.sum()  # one normaliser over the 2 x 32 x 32 labeled pixels (ignored included)
    expected = (w * pixel_loss).sum()
    torch.testing.assert_close(losses["loss_sem_seg"].detach(), expected, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(
        losses["loss_hardness"].detach(), -LAMBDA * expected, rtol=1e-5, atol=1e-9
    )
    # the weights are not uniform, so this is not the plain mean CE over all pixels
    assert w.max() > w.min()
    assert "hardness/sigmoid_mean" in storage.latest()


def test_each_loss_reaches_only_its_parameters():
    torch.manual_seed(0)
    m = build_model(tiny_cfg(*CONTRAST_OPTS, config=CONFIG))
    m.train()
    with EventStorage(0):  # fills the queues
        m(_batch(10))
    m.zero_grad()
    with EventStorage(1):
        losses = m(_batch(11))
    assert set(losses) == LOSSES
    assert float(losses["loss_contrast"].detach()) > 0
    assert float(losses["loss_sem_seg_unsup"].detach()) > 0
    student = m.student.segmentor
    hl = list(student.sem_seg_head.hl.parameters())
    network = (
        list(student.backbone.parameters())
        + list(student.sem_seg_head.seg.parameters())
        + list(m.student.rep_head.parameters())
    )
    # the HL branch: only loss_hardness reaches it
    unsup = losses["loss_sem_seg_unsup"] + losses["loss_contrast"]
    assert all(g is None for g in _grads(unsup, hl))
    assert all(g is None for g in _grads(losses["loss_sem_seg"], hl))
    assert _nonzero(_grads(losses["loss_hardness"], hl))
    # loss_hardness reaches neither the backbone, the decode head nor the embedding head
    assert all(g is None for g in _grads(losses["loss_hardness"], network))
    assert _nonzero(_grads(losses["loss_sem_seg"], list(student.backbone.parameters())))
    assert _nonzero(_grads(unsup, list(student.backbone.parameters())))
    # and nothing reaches the teacher (its HL branch included)
    sum(losses.values()).backward()
    assert all(p.grad is None for p in m.teacher.parameters())


def test_teacher_never_runs_its_hl_branch_and_emas_it(model):
    def forbid(module, inputs):
        raise AssertionError("the teacher's HL branch ran")

    hl = model.teacher.segmentor.sem_seg_head.hl
    hooks = [mod.register_forward_pre_hook(forbid) for mod in hl.modules()]
    try:
        model.train()
        with EventStorage(EPOCH + 1):  # two teacher passes (eval and train mode)
            model(_batch(3))
        model.eval()
        with torch.no_grad():
            x = random_batch(1, 32, 32, with_labels=False)
            assert bool(model.teacher_synced)
            out = model(x)[0]["sem_seg"]  # teacher inference
        assert out.shape == (7, 32, 32) and torch.isfinite(out).all()
    finally:
        for h in hooks:
            h.remove()
        model.train()
    # the teacher's HL parameters follow the student's like every other parameter
    t = {k: v.clone() for k, v in hl.named_parameters()}
    s = dict(model.student.segmentor.sem_seg_head.hl.named_parameters())
    model.update_teacher(model.semi_start_iter + 3)  # m = 1 - 1/4
    for k, v in hl.named_parameters():
        torch.testing.assert_close(v, 0.75 * t[k] + 0.25 * s[k].detach())


def test_hl_checkpoint_keys_and_plain_head_refused():
    state = build_model(tiny_cfg(config=CONFIG)).state_dict()
    for who in ("student", "teacher"):
        # HardnessHead's checkpoint layout: the plain model's keys plus hl.*
        assert f"{who}.segmentor.sem_seg_head.predictor.weight" in state
        assert f"{who}.segmentor.sem_seg_head.hl.predictor.weight" in state
    with pytest.raises(ValueError, match="HardnessHead"):
        build_model(
            tiny_cfg(
                "MODEL.SEM_SEG_HEAD.NAME", "DeepLabV3PlusPerPixelHead",
                config=CONFIG,
            )  # fmt: skip
        )


def test_yaml_and_lazy_twins_build_the_same_model():
    a = build_model(tiny_cfg(config=CONFIG))
    b = instantiate(load_lazy_config(str(CONFIG_ROOT / LAZY)).model)
    assert a.hardness and b.hardness
    shapes = [{k: v.shape for k, v in m.state_dict().items()} for m in (a, b)]
    assert shapes[0] == shapes[1]
    hb = b.student.segmentor.sem_seg_head
    assert (hb.eps, hb.loss_weight, hb.vis_period) == (EPS, LAMBDA, 10)


def test_training_iterations_on_hardshapes(tmp_path):
    """3 iterations (1 sup-only, 2 semi-supervised) of the Trainer on hardshapes 1/16."""
    cfg = tiny_cfg(
        "SOLVER.MAX_ITER", 3,
        "MODEL.SEMISUP.EPOCH_ITERS", 1,
        "DATASETS.TEST", "()",
        "OUTPUT_DIR", str(tmp_path),
        config=CONFIG,
    )  # fmt: skip
    trainer = Trainer(cfg)
    trainer.resume_or_load(resume=False)
    hl = trainer.model.student.segmentor.sem_seg_head.hl
    before = {k: v.detach().clone() for k, v in hl.named_parameters()}
    trainer.train()
    assert any(not torch.equal(v, before[k]) for k, v in hl.named_parameters())
    with open(tmp_path / "metrics.json") as f:
        last = [json.loads(line) for line in f if "loss_hardness" in line][-1]
    assert last["iteration"] == 2
    # the HL log sanity check (docs/methods/hl.md §4): loss_hardness =
    # -lambda * loss_sem_seg (medians)
    assert last["loss_hardness"] == pytest.approx(-LAMBDA * last["loss_sem_seg"], rel=1e-4)
    assert last["loss_sem_seg_unsup"] > 0
    final = torch.load(tmp_path / "model_final.pth", map_location="cpu")["model"]
    key = "segmentor.sem_seg_head.hl.predictor.weight"
    assert bool(final["teacher_synced"])
    # after the copy at iteration 1 and one EMA step, the teacher's HL branch is not its init
    assert not torch.equal(final["teacher." + key], before["predictor.weight"])
