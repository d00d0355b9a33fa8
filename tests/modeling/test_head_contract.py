"""The per-pixel head contract: one explicit loss call, no per-batch state on heads, and the
README's "add a loss head" recipe, exercised as written."""

import textwrap

import pytest
import torch
from torch.nn import functional as F

from detectron2.modeling import SEM_SEG_HEADS_REGISTRY, build_model
from detectron2.utils.events import EventStorage

from tests.common import REPO, random_batch, tiny_cfg

PSPNET_HL = "quick_schedules/pspnet_R18_hl_instant_test.yaml"


# ---- the README recipe ("Extending HardSeg", add a loss head), run as written there ----------
def _readme_recipe() -> str:
    text = (REPO / "README.md").read_text()
    start = text.index("- **A loss head.**")
    start = text.index("```python\n", start) + len("```python\n")
    return textwrap.dedent(text[start : text.index("```", start)])


_RECIPE = {}
exec(compile(_readme_recipe(), "README.md (add a loss head)", "exec"), _RECIPE)  # registers it
LinearHead = _RECIPE["LinearHead"]


def _train_step(model, batch, iteration=0):
    model.train()
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    with EventStorage(iteration):
        losses = model(batch)
    opt.zero_grad()
    sum(losses.values()).backward()
    opt.step()
    return losses


def test_recipe_head_trains_with_its_configured_loss():
    torch.manual_seed(0)
    model = build_model(tiny_cfg("MODEL.SEM_SEG_HEAD.NAME", "LinearHead"))
    head = model.sem_seg_head
    assert isinstance(head, LinearHead)
    batch = random_batch(2, 32, 32)
    # expected CE, worked out independently of the head's loss code
    images = torch.stack([(d["image"] - model.pixel_mean) / model.pixel_std for d in batch])
    targets = torch.stack([d["sem_seg"] for d in batch])
    model.train()
    with torch.no_grad():
        logits = head.predictor(model.backbone(images)["res5"])
        up = F.interpolate(logits, scale_factor=head.common_stride, mode="bilinear")
        expected = F.cross_entropy(up, targets, ignore_index=255)
    before = head.predictor.weight.detach().clone()
    losses = _train_step(model, batch)
    assert set(losses) == {"loss_sem_seg"}
    torch.testing.assert_close(losses["loss_sem_seg"].detach(), expected)
    assert not torch.equal(before, head.predictor.weight)
    model.eval()
    with torch.no_grad():
        out = model(random_batch(1, 32, 32, with_labels=False))
    assert out[0]["sem_seg"].shape == (7, 32, 32)


def test_recipe_head_gets_weighted_sums_distance_maps_and_hl_for_free():
    opts = ("MODEL.SEM_SEG_HEAD.LOSSES", "['cross_entropy', 'boundary']")
    hl = ("MODEL.SEM_SEG_HEAD.NAME", "HardnessHead", "MODEL.HARDNESS.ENABLED", True)
    cfg = tiny_cfg(*hl, "MODEL.HARDNESS.HEAD_NAME", "LinearHead", *opts)
    torch.manual_seed(0)
    model = build_model(cfg)
    assert model.sem_seg_head.required_loss_inputs == ("signed_dist",)
    from hardseg.data.mappers import SemanticDatasetMapper

    generator = SemanticDatasetMapper(cfg, is_train=True).target_generator
    batch = random_batch(2, 32, 32)
    for d in batch:
        d.update(generator(d["sem_seg"].numpy()))
    losses = _train_step(model, batch)
    assert set(losses) == {"loss_sem_seg", "loss_hardness"}
    assert all(torch.isfinite(v) for v in losses.values())


# ---- no per-batch state -----------------------------------------------------------------------
def _state(model):
    """Per submodule: its attribute names, and the names of plain-attribute tensors."""
    return {
        name: (
            set(vars(m)),
            {k for k, v in vars(m).items() if isinstance(v, torch.Tensor)},
        )
        for name, m in model.named_modules()
    }


@pytest.mark.parametrize(
    "config,opts",
    [
        (None, ("MODEL.SEM_SEG_HEAD.LOSSES", "['cross_entropy', 'dist_penalty_cross_entropy']")),
        (PSPNET_HL, ("MODEL.SEM_SEG_HEAD.LOSSES", "['cross_entropy', 'boundary']")),
    ],
)
def test_heads_keep_no_per_batch_state(config, opts):
    cfg = tiny_cfg(*opts, **({"config": config} if config else {}))
    torch.manual_seed(0)
    model = build_model(cfg)
    from hardseg.data.mappers import SemanticDatasetMapper

    generator = SemanticDatasetMapper(cfg, is_train=True).target_generator
    batch = random_batch(2, 64, 64)
    for d in batch:
        d.update(generator(d["sem_seg"].numpy()))
    before = _state(model)
    _train_step(model, batch)
    model.eval()
    with torch.no_grad():
        model(random_batch(1, 64, 64, with_labels=False))
    assert _state(model) == before


# ---- one explicit loss call -------------------------------------------------------------------
def test_hl_loss_is_the_inner_heads_loss_with_pixel_weights():
    torch.manual_seed(0)
    cfg = tiny_cfg("MODEL.SEM_SEG_HEAD.DROPOUT", 0.0, config=PSPNET_HL)  # z is computed twice
    model = build_model(cfg)
    model.train()
    head = model.sem_seg_head
    batch = random_batch(2, 64, 64)
    images = torch.stack([(d["image"] - model.pixel_mean) / model.pixel_std for d in batch])
    targets = torch.stack([d["sem_seg"] for d in batch])
    features = model.backbone(images)
    logits = head.layers(features)
    with EventStorage(1):
        hl = head.losses(logits, targets, features=features)
    z = head.hardness_logits(features, targets.shape[-2:])
    h = torch.sigmoid(z) + cfg.MODEL.HARDNESS.EPS
    plain = head.seg.losses(logits, targets, pixel_weights=(h / h.sum()).detach())
    torch.testing.assert_close(plain["loss_sem_seg"], hl["loss_sem_seg"])
    # gradient of both w.r.t. the logits is the same
    g1 = torch.autograd.grad(plain["loss_sem_seg"], logits, retain_graph=True)[0]
    g2 = torch.autograd.grad(hl["loss_sem_seg"], logits)[0]
    torch.testing.assert_close(g1, g2)


def test_missing_loss_input_is_named_by_every_head():
    cfg = tiny_cfg(
        config=PSPNET_HL, *("MODEL.SEM_SEG_HEAD.LOSSES", "['cross_entropy', 'boundary']")
    )
    model = build_model(cfg)
    model.train()
    head = model.sem_seg_head
    features = model.backbone(torch.randn(2, 3, 64, 64))
    targets = torch.zeros(2, 64, 64, dtype=torch.long)
    logits = head.layers(features)
    with EventStorage(0):
        for call in (
            lambda: head.losses(logits, targets, features=features),
            lambda: head.seg.losses(logits, targets),
            lambda: head.seg.pixel_loss(logits, targets),
        ):
            with pytest.raises(ValueError, match=r"needs \['signed_dist'\].*loss_inputs"):
                call()


def test_recipe_head_under_u2pl():
    cfg = tiny_cfg(
        "MODEL.SEM_SEG_HEAD.NAME",
        "LinearHead",
        "MODEL.SEMISUP.U2PL.EMBED_IN_FEATURE",
        "pre_classifier",
        "MODEL.SEMISUP.U2PL.EMBED_DIM",
        8,
        config="hardshapes/u2pl_deeplabv3plus_R18_instant_test_1-16.yaml",
    )
    torch.manual_seed(0)
    model = build_model(cfg)
    batch = {
        "labeled": random_batch(2, 32, 32, seed=1),
        "unlabeled": random_batch(2, 32, 32, seed=2, with_labels=False),
    }
    semi = cfg.MODEL.SEMISUP.EPOCH_ITERS * cfg.MODEL.SEMISUP.SUP_ONLY_EPOCHS
    losses = _train_step(model, batch, iteration=semi)
    assert {"loss_sem_seg", "loss_sem_seg_unsup", "loss_contrast"} <= set(losses)
    assert all(torch.isfinite(v) for v in losses.values())


def test_u2pl_student_and_teacher_keep_no_per_batch_state():
    cfg = tiny_cfg(config="hardshapes/u2pl_deeplabv3plus_R18_instant_test_1-16.yaml")
    torch.manual_seed(0)
    model = build_model(cfg)
    batch = {
        "labeled": random_batch(2, 32, 32, seed=1),
        "unlabeled": random_batch(2, 32, 32, seed=2, with_labels=False),
    }
    before = _state(model)
    semi = cfg.MODEL.SEMISUP.EPOCH_ITERS * cfg.MODEL.SEMISUP.SUP_ONLY_EPOCHS
    _train_step(model, batch, iteration=semi)
    assert _state(model) == before
