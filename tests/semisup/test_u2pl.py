"""The U2PL meta-architecture: config defaults, phases, teacher updates, gradient semantics."""

import pytest
import torch

from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from hardseg.modeling.meta_arch import U2PL
from tests.common import random_batch, tiny_cfg

CONFIG = "hardshapes/u2pl_deeplabv3plus_R18_instant_test_1-16.yaml"
EPOCH = 5  # MODEL.SEMISUP.EPOCH_ITERS of that config; SUP_ONLY_EPOCHS 1


def test_config_defaults_are_the_official_values():
    cfg = tiny_cfg()  # keys from add_semisup_config, untouched by the instant config
    s, u = cfg.MODEL.SEMISUP, cfg.MODEL.SEMISUP.U2PL
    assert cfg.DATASETS.TRAIN_UNLABELED == () and cfg.SOLVER.IMS_PER_BATCH_UNLABELED == 0
    assert (s.STUDENT_META_ARCHITECTURE, s.EPOCH_ITERS, s.SUP_ONLY_EPOCHS) == (
        "HardSegmentor",
        0,
        1,
    )
    assert (s.EMA_DECAY, s.UNSUP_WEIGHT, s.MIX, s.MIX_PROB, s.MIX_AREA_RATIO) == (
        0.99, 1.0, "cutmix", 0.5, 2.0,
    )  # fmt: skip
    assert s.EVAL_MODEL == "teacher"
    assert (u.ALPHA0, u.LOW_RANK, u.HIGH_RANK) == (20.0, 3, 20)
    assert (u.ANCHOR_PROB_THRESH, u.NEGATIVE_PROB_THRESH) == (0.3, 1.0)
    assert (u.NUM_QUERIES, u.NUM_NEGATIVES, u.TEMPERATURE) == (256, 50, 0.5)
    assert (u.QUEUE_SIZE, u.QUEUE_SIZE_CLASS0, u.QUEUE_DTYPE) == (30000, 50000, "float32")
    assert (u.CONTRAST_WEIGHT, u.CONTRAST_DIVIDE_BY_WORLD_SIZE, u.NEGATIVE_RULE) == (
        1.0, True, "official",
    )  # fmt: skip
    assert u.ANCHOR_RULE == "official"
    assert (u.EMBED_DIM, u.EMBED_DROPOUT, u.EMBED_NORM, u.EMBED_IN_FEATURE) == (
        256, 0.1, "SyncBN", "decoder_concat",
    )  # fmt: skip


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = build_model(tiny_cfg(config=CONFIG))
    assert isinstance(m, U2PL)
    return m


def _batch(seed):
    return {
        "labeled": random_batch(2, 32, 32, seed=seed),
        "unlabeled": random_batch(2, 32, 32, seed=seed + 100, with_labels=False),
    }


def _params(module):
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def _buffers(module):
    return {k: v.clone() for k, v in module.named_buffers()}


def test_structure_and_frozen_teacher(model):
    assert all(not p.requires_grad for p in model.teacher.parameters())
    assert all(p.requires_grad for p in model.student.parameters())
    assert model.student.rep_head[0].in_channels == 8 + 16  # decoder concat: res2 proj + ASPP
    assert model.student.rep_head.dim == 16
    assert model.queues.capacities == [500] + [300] * 6
    keys = model.state_dict().keys()
    assert {"queues.queue0", "queues.ptr", "queues.length", "teacher_synced"} <= set(keys)
    assert any(k.startswith("teacher.rep_head.") for k in keys)


def test_sup_only_phase_then_semi_phase(model):
    model.train()
    teacher_params, teacher_bufs = _params(model.teacher), _buffers(model.teacher)
    with EventStorage(EPOCH - 1):  # last sup-only iteration
        losses = model(_batch(0))
    assert set(losses) == {"loss_sem_seg", "loss_sem_seg_unsup", "loss_contrast"}
    assert float(losses["loss_sem_seg_unsup"].detach()) == 0
    assert float(losses["loss_contrast"].detach()) == 0
    sum(losses.values()).backward()
    # the teacher's parameters are untouched, its BN statistics moved (train-mode forward)
    assert all(torch.equal(v, teacher_params[k]) for k, v in model.teacher.named_parameters())
    moved = [k for k, v in model.teacher.named_buffers() if "running_mean" in k]
    assert any(
        not torch.equal(dict(model.teacher.named_buffers())[k], teacher_bufs[k]) for k in moved
    )
    model.update_teacher(EPOCH - 1)  # no EMA before the semi-supervised phase
    assert all(torch.equal(v, teacher_params[k]) for k, v in model.teacher.named_parameters())
    assert not bool(model.teacher_synced)

    model.zero_grad()
    with EventStorage(EPOCH) as storage:  # first semi iteration: teacher <- student first
        losses = model(_batch(1))
    assert set(losses) == {"loss_sem_seg", "loss_sem_seg_unsup", "loss_contrast"}
    assert float(losses["loss_sem_seg_unsup"].detach()) > 0
    for (k, t), s in zip(model.teacher.named_parameters(), model.student.parameters()):
        assert torch.equal(t, s), k
    assert bool(model.teacher_synced)
    assert storage.latest()["u2pl/alpha"][0] == pytest.approx(20.0 * (1 - 1 / 4))
    sum(losses.values()).backward()
    # no gradient into the teacher; the student (embedding head included) gets gradient
    assert all(p.grad is None for p in model.teacher.parameters())
    assert model.student.segmentor.sem_seg_head.predictor.weight.grad.abs().sum() > 0
    assert model.student.rep_head[-1].weight.grad is not None


def test_update_teacher_is_ema_of_parameters_only(model):
    teacher, student = _params(model.teacher), _params(model.student)
    bufs = _buffers(model.teacher)
    with torch.no_grad():
        for p in model.student.parameters():
            p.add_(0.01)
    start = model.semi_start_iter
    model.update_teacher(start + 3)  # m = 1 - 1/4
    for k, v in model.teacher.named_parameters():
        torch.testing.assert_close(v, 0.75 * teacher[k] + 0.25 * (student[k] + 0.01))
    assert all(torch.equal(v, bufs[k]) for k, v in model.teacher.named_buffers())
    with torch.no_grad():
        for k, p in model.student.named_parameters():
            p.copy_(student[k])
    model.update_teacher(start)  # m = 0: the teacher becomes the student
    for (k, t), s in zip(model.teacher.named_parameters(), model.student.parameters()):
        assert torch.equal(t, s), k


def test_inference_uses_the_teacher_once_synced(model):
    model.eval()
    x = random_batch(1, 32, 32, with_labels=False)
    with torch.no_grad():
        for p in model.teacher.parameters():  # make the teacher differ from the student
            p.mul_(0.9)
        out = model(x)[0]["sem_seg"]
        assert out.shape == (7, 32, 32)
        assert torch.equal(out, model.teacher.segmentor(x)[0]["sem_seg"])
        student_out = model.student.segmentor(x)[0]["sem_seg"]
        assert not torch.equal(out, student_out)
        model.teacher_synced.fill_(False)
        assert torch.equal(model(x)[0]["sem_seg"], student_out)
        model.teacher_synced.fill_(True)
    model.train()


def test_clear_errors(model):
    with pytest.raises(ValueError, match="DATASETS.TRAIN_UNLABELED"):
        build_model(tiny_cfg("MODEL.META_ARCHITECTURE", "U2PL", "MODEL.SEMISUP.EPOCH_ITERS", 5))
    with pytest.raises(ValueError, match="MODEL.SEMISUP.EPOCH_ITERS"):
        build_model(tiny_cfg("MODEL.SEMISUP.EPOCH_ITERS", 0, config=CONFIG))
    with pytest.raises(ValueError, match="EMBED_IN_FEATURE"):
        build_model(tiny_cfg("MODEL.SEMISUP.U2PL.EMBED_IN_FEATURE", "res5", config=CONFIG))
    with pytest.raises(ValueError, match="'HardMaskFormer': U2PL wraps per-pixel models"):
        build_model(
            tiny_cfg("MODEL.SEMISUP.STUDENT_META_ARCHITECTURE", "HardMaskFormer", config=CONFIG)
        )
    model.train()
    with pytest.raises(ValueError, match="DATASETS.TRAIN_UNLABELED"), EventStorage(0):
        model(random_batch(2, 32, 32))


def test_variants_build_and_step():
    """pre-classifier embeddings, paper negatives, reliable anchors, ClassMix, OHEM + aux head."""
    cfg = tiny_cfg(
        "MODEL.SEMISUP.U2PL.EMBED_IN_FEATURE", "pre_classifier",
        "MODEL.SEMISUP.U2PL.NEGATIVE_RULE", "paper",
        "MODEL.SEMISUP.SUP_ONLY_EPOCHS", 0,
        "MODEL.SEMISUP.MIX", "classmix",
        "MODEL.SEMISUP.MIX_PROB", 1.0,
        "MODEL.SEMISUP.U2PL.ANCHOR_RULE", "reliable",
        # the Cityscapes recipe's supervised part: OHEM and an FCN aux head on res4
        "MODEL.SEM_SEG_HEAD.LOSS_TYPE", "ohem_cross_entropy",
        "MODEL.AUX_HEAD.NAME", "FCNHead",
        "MODEL.AUX_HEAD.CHANNELS", 8,
        "MODEL.RESNETS.OUT_FEATURES", ["res2", "res4", "res5"],
        config=CONFIG,
    )  # fmt: skip
    m = build_model(cfg)
    assert m.student.rep_head[0].in_channels == 16  # the fused decoder feature (CONVS_DIM)
    m.train()
    with EventStorage(0) as storage:
        losses = m(_batch(2))
    assert storage.latest()["u2pl/mixed"][0] == 1.0
    assert set(losses) == {"loss_sem_seg", "loss_aux", "loss_sem_seg_unsup", "loss_contrast"}
    sum(losses.values()).backward()
    assert m.student.segmentor.aux_head.predictor.weight.grad.abs().sum() > 0
    # the paper's rule takes labeled pixels with c in the teacher's top 3 and label != c
    assert int(m.queues.length.sum()) > 0


def test_plain_model_weights_initialise_student_and_teacher(tmp_path):
    from detectron2.checkpoint import DetectionCheckpointer

    torch.manual_seed(1)
    plain = build_model(tiny_cfg())  # the supervised instant-test model, same architecture
    torch.save({"model": plain.state_dict()}, tmp_path / "plain.pth")
    m = build_model(tiny_cfg(config=CONFIG))
    rep = _params(m.student.rep_head)
    DetectionCheckpointer(m).load(str(tmp_path / "plain.pth"))
    for k, v in plain.state_dict().items():
        assert torch.equal(m.student.segmentor.state_dict()[k], v), k
        assert torch.equal(m.teacher.segmentor.state_dict()[k], v), k
    t = next(m.teacher.segmentor.parameters())
    assert t.data_ptr() != next(m.student.segmentor.parameters()).data_ptr()
    assert all(torch.equal(v, rep[k]) for k, v in m.student.rep_head.named_parameters())
    # a U2PL checkpoint loads as is
    m2 = build_model(tiny_cfg(config=CONFIG))
    m2.load_state_dict(m.state_dict())
    assert all(torch.equal(v, m.state_dict()[k]) for k, v in m2.state_dict().items())
