"""Mixed precision (SOLVER.AMP.DTYPE, hardseg/engine/amp.py) for every model family, on CPU with
bfloat16 autocast: one training step's losses within a stated tolerance of float32, finite
gradients, and U2PL's reliable/unreliable partition equal to the float32 one on the same logits."""

import copy

import pytest
import torch
from torch.nn import functional as F

from detectron2.engine import SimpleTrainer
from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from hardseg.engine.amp import MixedPrecisionTrainer, build_step_trainer
from hardseg.engine.lazy import load_lazy_config
from hardseg.model_zoo import CONFIG_ROOT
from hardseg.modeling.meta_arch import u2pl as u2pl_module
from hardseg.modeling.semisup.reliability import entropy_map, entropy_partition
from hardseg.modeling.semisup.resize import resize_bilinear
from tests.common import random_batch, tiny_cfg
from tests.modeling.test_cac_head import CAC_OPTS
from tests.uda.common import ROUND

U2PL = "hardshapes/u2pl_deeplabv3plus_R18_instant_test_1-16.yaml"
U2PL_SEMI_ITER = 5  # MODEL.SEMISUP.EPOCH_ITERS of that config (SUP_ONLY_EPOCHS 1)
# bfloat16 keeps 8 mantissa bits (relative rounding 2^-9 per product); through a dozen layers of a
# tiny untrained model each loss stays within 5 % (relative) + 0.02 (absolute) of float32.
RTOL, ATOL = 0.05, 0.02


def _u2pl_batch(seed):
    return {
        "labeled": random_batch(2, 32, 32, seed=seed),
        "unlabeled": random_batch(2, 32, 32, seed=seed + 100, with_labels=False),
    }


def _hiast_batch(seed):
    gen = torch.Generator().manual_seed(seed)
    label = torch.randint(0, 7, (32, 32), generator=gen)
    label[:8] = 255
    img = lambda: torch.randint(0, 255, (3, 32, 32), generator=gen, dtype=torch.uint8)  # noqa
    return [{"image": img(), "image_strong": img(), "sem_seg": label} for _ in range(2)]


FAMILIES = {
    "per_pixel": (lambda: tiny_cfg(), lambda: random_batch(2, 32, 32, seed=1), 0),
    "hl": (
        lambda: tiny_cfg(config="quick_schedules/deeplabv3plus_R18_hl_instant_test.yaml"),
        lambda: random_batch(2, 32, 32, seed=1),
        0,
    ),
    "u2pl": (lambda: tiny_cfg(config=U2PL), lambda: _u2pl_batch(1), U2PL_SEMI_ITER),
    "mask2former": (
        lambda: tiny_cfg(config="quick_schedules/maskformer2_R18_instant_test.yaml"),
        lambda: random_batch(2, 64, 64, seed=1),
        0,
    ),
    "cac": (lambda: tiny_cfg(*CAC_OPTS), lambda: random_batch(2, 32, 32, seed=1), 0),
    "hiast_round": (lambda: tiny_cfg(config=ROUND), lambda: _hiast_batch(1), 0),
}


def _one_step(trainer_cls, model, batch, iteration, **kw):
    """One trainer step on ``batch``; returns the loss dict (float) and the updated parameters."""
    seen = {}
    model.register_forward_hook(lambda m, a, out: seen.update(out))
    trainer = trainer_cls(model, [batch] * 2, torch.optim.SGD(model.parameters(), lr=0.01), **kw)
    trainer.iter = iteration
    torch.manual_seed(123)
    with EventStorage(iteration) as trainer.storage:
        trainer.run_step()
    return {k: float(v.detach().float()) for k, v in seen.items()}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_bf16_step_matches_fp32(family):
    make_cfg, make_batch, iteration = FAMILIES[family]
    torch.manual_seed(0)
    model = build_model(make_cfg())
    model.train()
    model_amp = copy.deepcopy(model)
    batch = make_batch()
    ref = _one_step(SimpleTrainer, model, batch, iteration)
    amp = _one_step(MixedPrecisionTrainer, model_amp, batch, iteration, dtype=torch.bfloat16)
    assert set(amp) == set(ref) and ref
    for k in ref:
        assert amp[k] == pytest.approx(ref[k], rel=RTOL, abs=ATOL), (family, k, amp[k], ref[k])
    for (n, p), p_ref in zip(model_amp.named_parameters(), model.parameters()):
        assert p.dtype == torch.float32 and torch.isfinite(p).all(), n
    if family == "u2pl":
        assert ref["loss_sem_seg_unsup"] > 0 and amp["loss_sem_seg_unsup"] > 0


def test_u2pl_partition_equals_fp32_on_the_same_logits(monkeypatch):
    """The teacher's logits come out of autocast in bfloat16; the partition computed from them
    inside the bf16 step must equal the float32 computation on the same logits (without the fp32
    island, bfloat16 entropies tie and almost every pixel becomes unreliable)."""
    torch.manual_seed(0)
    model = build_model(tiny_cfg(config=U2PL))
    model.train()
    logits, parts = [], []
    model.teacher.register_forward_hook(lambda m, a, out: logits.append(out["sem_seg_logits"]))
    real = u2pl_module.entropy_partition
    monkeypatch.setattr(
        u2pl_module, "entropy_partition", lambda *a: parts.append((a, real(*a))) or parts[-1][1]
    )
    trainer = MixedPrecisionTrainer(
        model, [_u2pl_batch(3)], torch.optim.SGD(model.parameters(), lr=0.0), dtype=torch.bfloat16
    )
    trainer.iter = U2PL_SEMI_ITER
    torch.manual_seed(1)
    with EventStorage(U2PL_SEMI_ITER) as trainer.storage:
        trainer.run_step()
    entropy_args, part = parts[0]
    _, valid, alpha = entropy_args
    teacher_logits = logits[-1]  # the train-mode teacher pass on [labeled, mixed unlabeled]
    assert teacher_logits.dtype == torch.bfloat16  # the model really ran in bfloat16
    size = tuple(valid.shape[-2:])
    n_l = teacher_logits.shape[0] - valid.shape[0]
    ref_entropy = entropy_map(
        F.softmax(
            resize_bilinear(teacher_logits[n_l:].float(), size, model.config.align_corners), 1
        )
    )
    ref = entropy_partition(ref_entropy, valid, alpha)
    assert 0 < int(ref.high.sum()) < int(valid.sum())
    for name in ("reliable", "low", "high"):
        assert torch.equal(getattr(part, name), getattr(ref, name)), name


def test_fp16_has_a_grad_scaler_bf16_none_and_bad_dtype():
    model = build_model(tiny_cfg())
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    bf16 = build_step_trainer(model, [], opt, enabled=True, dtype="bfloat16", key="K")
    assert bf16.grad_scaler is None and "grad_scaler" not in bf16.state_dict()
    fp16 = build_step_trainer(model, [], opt, enabled=True, dtype="float16", key="K")
    assert "grad_scaler" in fp16.state_dict()  # detectron2 AMPTrainer's checkpoint key
    assert type(build_step_trainer(model, [], opt, enabled=False, dtype="x", key="K")) is (
        SimpleTrainer
    )
    with pytest.raises(ValueError, match="SOLVER.AMP.DTYPE='half'"):
        build_step_trainer(model, [], opt, enabled=True, dtype="half", key="SOLVER.AMP.DTYPE")


def test_config_keys():
    assert tiny_cfg().SOLVER.AMP.DTYPE == "bfloat16"
    lazy = load_lazy_config(str(CONFIG_ROOT / "lazy" / "common" / "train.py"))
    assert lazy.train.amp.dtype == "bfloat16"
    # the Mask2Former recipes keep the official float16 (with its GradScaler), in both forms
    for stem in ("cityscapes/maskformer2_R50_bs16_90k", "ade20k/maskformer2_R50_hl_bs16_160k"):
        data, name = stem.split("/")
        yaml = tiny_cfg(config=f"{data}/semantic-segmentation/{name}.yaml")
        assert yaml.SOLVER.AMP.ENABLED and yaml.SOLVER.AMP.DTYPE == "float16"
        lazy = load_lazy_config(str(CONFIG_ROOT / "lazy" / f"{stem}.py"))
        assert lazy.train.amp.enabled and lazy.train.amp.dtype == "float16"
