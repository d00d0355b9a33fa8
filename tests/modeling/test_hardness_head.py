"""HardnessHead (HL): the weight map, the two loss terms, which gradients flow where (checked
against closed forms computed here, independently of hardseg's code), inference, checkpoint keys,
config constants, and the errors for unsupported losses."""

import pytest
import torch
from torch.nn import functional as F

from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from hardseg.data.mappers import SemanticDatasetMapper
from hardseg.data.targets import decode_loss_map
from hardseg.modeling import HardnessHead
from hardseg.modeling.losses import SEM_SEG_LOSS_REGISTRY, build_sem_seg_loss
from tests.common import random_batch, tiny_cfg

HL_OPTS = ("MODEL.SEM_SEG_HEAD.NAME", "HardnessHead", "MODEL.HARDNESS.ENABLED", True)
NO_DROPOUT = ("MODEL.SEM_SEG_HEAD.ASPP_DROPOUT", 0.0)
EPS, LAMBDA = 0.1, 0.01


def _model(*opts, seed=0):
    torch.manual_seed(seed)
    return build_model(tiny_cfg(*HL_OPTS, *NO_DROPOUT, *opts))


def _inputs(model, n=2, h=32, w=48, seed=0):
    """Normalised images (N, 3, h, w) and targets (N, h, w), as HardSegmentor prepares them."""
    batch = random_batch(n=n, h=h, w=w, seed=seed)
    images = torch.stack([(b["image"] - model.pixel_mean) / model.pixel_std for b in batch])
    return images, torch.stack([b["sem_seg"] for b in batch])


def _reference(model, images, targets):
    """Independent forward: per-pixel CE l (N, H, W) (0 at ignored pixels) and HL logits z (N, H, W)
    upsampled to label size, both with the graph kept."""
    head = model.sem_seg_head
    features = model.backbone(images)
    logits = head.seg.layers(features)
    logits = F.interpolate(logits, size=targets.shape[-2:], mode="bilinear", align_corners=False)
    pixel_ce = F.cross_entropy(logits, targets, reduction="none", ignore_index=255)
    z = head.hl.layers({k: v.detach() for k, v in features.items()})
    z = F.interpolate(z, size=targets.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    return pixel_ce, z


def _head_losses(model, images, targets, iteration=0, loss_inputs=None):
    with EventStorage(iteration):
        _, losses = model.sem_seg_head(model.backbone(images), targets, loss_inputs=loss_inputs)
    return losses


def test_constants_pinned():
    cfg = tiny_cfg()
    h = cfg.MODEL.HARDNESS
    assert (h.ENABLED, h.EPS, h.LOSS_WEIGHT, h.PREDICTOR_INIT_STD) == (False, 0.1, 0.01, 0.01)
    assert h.HEAD_NAME == "DeepLabV3PlusPerPixelHead" and h.VIS_PERIOD == 1000
    a = cfg.MODEL.AUX_HEAD
    assert (a.NAME, list(a.IN_FEATURES), a.CHANNELS, a.NUM_CONVS) == ("", ["res4"], 256, 1)
    assert (a.CONCAT_INPUT, a.DROPOUT, a.LOSS_WEIGHT, a.LOSS_TYPE) == (
        False,
        0.1,
        0.4,
        "cross_entropy",
    )
    s = cfg.MODEL.SEM_SEG_HEAD
    assert (list(s.POOL_SCALES), s.CHANNELS, s.DROPOUT, s.ALIGN_CORNERS) == (
        [1, 2, 3, 6],
        512,
        0.1,
        False,
    )
    assert (cfg.MODEL.RESNETS.CONTRACT_DILATION, cfg.MODEL.RESNETS.SIZE_DIVISIBILITY) == (False, 0)
    # The HardnessHead constructor defaults are the official constants too.
    import inspect

    params = inspect.signature(HardnessHead.__init__).parameters
    assert params["eps"].default == EPS and params["loss_weight"].default == LAMBDA
    assert params["predictor_init_std"].default == 0.01


def test_weights_sum_to_one_over_the_batch_and_ratio_at_most_11():
    model = _model()
    model.train()
    images, targets = _inputs(model)
    head = model.sem_seg_head
    torch.nn.init.normal_(head.hl.predictor.weight, 0.0, 30.0)  # saturate the sigmoid both ways
    with torch.no_grad():
        z = head.hardness_logits(model.backbone(images), targets.shape[-2:])
    from hardseg.modeling.losses import hardness_weights

    w = hardness_weights(z, EPS)
    assert w.shape == targets.shape
    torch.testing.assert_close(w.sum(), torch.tensor(1.0), rtol=0, atol=1e-5)
    ratio = (w.max() / w.min()).item()
    assert ratio <= (1 + EPS) / EPS + 1e-4
    assert ratio > 10.0  # the bound is reached, so the check above is not vacuous
    # One normaliser for the whole batch: per-image sums differ, only the batch sum is 1.
    assert not torch.allclose(w[0].sum(), w[1].sum())


def test_at_init_weighted_loss_equals_mean_ce_over_all_pixels():
    model = _model()
    model.train()
    images, targets = _inputs(model)
    pred = model.sem_seg_head.hl.predictor
    assert torch.all(pred.bias == 0) and 0.004 < pred.weight.std().item() < 0.02
    losses = _head_losses(model, images, targets)
    pixel_ce, z = _reference(model, images, targets)
    # HL logit ~ 0 (std 0.01 weights on O(1) features): sigmoid ~ 0.5, near-uniform weights.
    assert z.abs().max() < 0.25
    h = torch.sigmoid(z.detach()) + EPS
    spread = (h / h.mean() - 1).abs().max().item()  # max relative deviation of N*w from 1
    assert spread < 0.05
    mean_all = pixel_ce.sum() / pixel_ce.numel()  # ignored pixels count, with loss 0
    torch.testing.assert_close(losses["loss_sem_seg"], mean_all, rtol=spread, atol=0)
    torch.testing.assert_close(losses["loss_sem_seg"], mean_all, rtol=1e-2, atol=0)
    # and it is not the mean over valid pixels (the batch has ignored rows)
    assert (targets == 255).any()
    assert not torch.allclose(losses["loss_sem_seg"], pixel_ce[targets != 255].mean(), rtol=5e-2)
    # Official logs: weight_loss = -0.01 x decode.loss_ce at every step.
    torch.testing.assert_close(losses["loss_hardness"], -LAMBDA * losses["loss_sem_seg"])


def _grads(loss, params):
    return torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)


def test_seg_gradients_are_those_of_constant_weights_and_hl_sends_nothing_back():
    model = _model()
    model.train()
    images, targets = _inputs(model)
    head = model.sem_seg_head
    backbone = [p for p in model.backbone.parameters()]
    seg = [p for p in head.seg.parameters()]
    hl = [p for p in head.hl.parameters()]
    losses = _head_losses(model, images, targets)

    # L_HL reaches neither the backbone nor the decode head.
    assert all(g is None for g in _grads(losses["loss_hardness"], backbone + seg))
    # L_seg never reaches the HL branch.
    assert all(g is None for g in _grads(losses["loss_sem_seg"], hl))
    assert all(g is not None for g in _grads(losses["loss_hardness"], hl))

    # Backbone and decode head: gradients of sum(w * l) with w a constant.
    pixel_ce, z = _reference(model, images, targets)
    h = torch.sigmoid(z.detach()) + EPS
    w_const = h / h.sum()
    reference = (w_const * pixel_ce).sum()
    torch.testing.assert_close(losses["loss_sem_seg"], reference, rtol=1e-5, atol=1e-7)
    got = _grads(losses["loss_sem_seg"], backbone + seg)
    want = _grads(reference, backbone + seg)
    assert sum(g.abs().sum().item() for g in want) > 0
    for g, r in zip(got, want):
        torch.testing.assert_close(g, r, rtol=1e-4, atol=1e-7)


def test_hl_gradient_matches_closed_form():
    """dL_HL/dz_i = -(lambda/S) sigmoid'(z_i) (l_i - lbar), lbar = sum_j w_j l_j
    (docs/methods/hl.md §4)."""
    model = _model()
    model.train()
    images, targets = _inputs(model)
    head = model.sem_seg_head
    torch.nn.init.normal_(head.hl.predictor.weight, 0.0, 1.0)  # a non-uniform map
    captured = {}
    original = head.hardness_logits

    def spy(*args, **kwargs):
        z = original(*args, **kwargs)
        z.retain_grad()
        captured["z"] = z
        return z

    head.hardness_logits = spy
    losses = _head_losses(model, images, targets)
    losses["loss_hardness"].backward()
    z = captured["z"].detach()
    pixel_ce, z_ref = _reference(model, images, targets)
    torch.testing.assert_close(z, z_ref.detach(), rtol=1e-5, atol=1e-6)
    l = pixel_ce.detach()
    s = torch.sigmoid(z)
    S = (s + EPS).sum()
    w = (s + EPS) / S
    lbar = (w * l).sum()
    closed = -(LAMBDA / S) * s * (1 - s) * (l - lbar)
    assert closed.abs().max() > 0
    torch.testing.assert_close(captured["z"].grad, closed, rtol=1e-4, atol=1e-12)
    # Chain to the HL parameters: same as back-propagating the closed form through z.
    hl = list(head.hl.parameters())
    want = torch.autograd.grad(z_ref, hl, grad_outputs=closed)
    for p, r in zip(hl, want):
        # float32 sums over ~3k pixels: absolute tolerance scaled to the tensor's magnitude.
        torch.testing.assert_close(p.grad, r, rtol=1e-4, atol=1e-4 * r.abs().max().item())
    # Ignored pixels (l = 0 < lbar) are pushed down: positive gradient on z.
    assert torch.all(closed[targets == 255] > 0)


class _SquaredProbLoss(torch.nn.Module):
    """A per-pixel loss that is not cross-entropy: (1 - p_y)^2, 0 at ignored pixels."""

    def pixel_loss(self, logits, targets):
        valid = targets != 255
        p = torch.softmax(logits, 1).gather(1, targets.clamp(max=logits.shape[1] - 1)[:, None])[
            :, 0
        ]
        return (1 - p) ** 2 * valid

    def forward(self, logits, targets):
        return self.pixel_loss(logits, targets).mean()


def test_uses_the_inner_heads_own_per_pixel_loss():
    model = _model()
    model.train()
    head = model.sem_seg_head
    head.seg.loss = _SquaredProbLoss()
    wrapped = HardnessHead(head=head.seg, hl_head=head.hl)  # re-check the loss on construction
    model.sem_seg_head = wrapped
    images, targets = _inputs(model)
    losses = _head_losses(model, images, targets)
    features = model.backbone(images)
    logits = F.interpolate(head.seg.layers(features), size=targets.shape[-2:], mode="bilinear")
    valid = targets != 255
    p = torch.softmax(logits, 1).gather(1, targets.clamp(max=6)[:, None])[:, 0]
    l = (1 - p) ** 2 * valid
    z = F.interpolate(head.hl.layers(features), size=targets.shape[-2:], mode="bilinear")[:, 0]
    h = torch.sigmoid(z) + EPS
    torch.testing.assert_close(losses["loss_sem_seg"], (h / h.sum() * l).sum(), rtol=1e-5, atol=0)


def _pixel_form(name):
    loss = build_sem_seg_loss(name, 255)
    if hasattr(loss, "without_pixel_form"):
        return not loss.without_pixel_form()
    return hasattr(loss, "pixel_loss")


@pytest.mark.parametrize("name", sorted(k for k, _ in SEM_SEG_LOSS_REGISTRY))
def test_every_registered_loss_is_reweighted_or_refused(name):
    opts = ("MODEL.SEM_SEG_HEAD.LOSS_TYPE", name)
    if not _pixel_form(name):
        with pytest.raises(ValueError, match="no per-pixel form"):
            _model(*opts)
        return
    model = _model(*opts)
    model.train()
    images, targets = _inputs(model)
    # distance maps for the losses that need them, computed by the mapper as in training and
    # expanded as the meta-architectures do
    mapper = SemanticDatasetMapper(tiny_cfg(*opts), is_train=True)
    generator = mapper.target_generator or (lambda label: {})
    per_image = [generator(t.numpy()) for t in targets]
    maps = {k: torch.stack([decode_loss_map(m[k]) for m in per_image]) for k in per_image[0]}
    assert set(maps) == set(model.sem_seg_head.required_loss_inputs)
    losses = _head_losses(model, images, targets, loss_inputs=maps)
    assert set(losses) == {"loss_sem_seg", "loss_hardness"}
    assert all(torch.isfinite(v) for v in losses.values())
    torch.testing.assert_close(
        losses["loss_hardness"], -LAMBDA * losses["loss_sem_seg"], rtol=0.05, atol=1e-6
    )


def test_hard_pixel_mining_is_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="hard_pixel_mining.*no per-pixel form"):
        _model("MODEL.SEM_SEG_HEAD.LOSS_TYPE", "hard_pixel_mining")


def test_config_errors():
    with pytest.raises(ValueError, match="MODEL.HARDNESS.ENABLED is False"):
        build_model(tiny_cfg("MODEL.SEM_SEG_HEAD.NAME", "HardnessHead"))
    with pytest.raises(ValueError, match="HEAD_NAME must name the wrapped head"):
        _model("MODEL.HARDNESS.HEAD_NAME", "HardnessHead")


def test_eval_is_the_plain_model_and_never_runs_the_hl_branch():
    model = _model()
    plain = build_model(tiny_cfg(*NO_DROPOUT))
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("sem_seg_head.hl.")}
    plain.load_state_dict(state, strict=True)  # exported HL weights load into the plain model

    def fail(*args, **kwargs):
        raise AssertionError("the HL branch ran at inference")

    model.sem_seg_head.hl.layers = fail
    model.sem_seg_head.hl.forward = fail
    model.eval()
    plain.eval()
    batch = random_batch(n=2, h=32, w=48, with_labels=False, seed=3)
    with torch.no_grad():
        a, b = model(batch), plain(batch)
    for x, y in zip(a, b):
        assert torch.equal(x["sem_seg"], y["sem_seg"])


def test_checkpoint_keys_are_the_plain_models_plus_hl():
    model = _model()
    plain = build_model(tiny_cfg(*NO_DROPOUT))
    keys = set(model.state_dict())
    hl_keys = {k for k in keys if k.startswith("sem_seg_head.hl.")}
    assert hl_keys and keys - hl_keys == set(plain.state_dict())
    # A plain model's weights load into the decode head; only the HL branch is then missing.
    result = model.load_state_dict(plain.state_dict(), strict=False)
    # (BatchNorm does not report a missing num_batches_tracked)
    tracked = {k for k in hl_keys if k.endswith("num_batches_tracked")}
    assert set(result.missing_keys) == hl_keys - tracked and not result.unexpected_keys
    for k, v in plain.state_dict().items():
        assert torch.equal(model.state_dict()[k], v)
    model.load_state_dict(model.state_dict(), strict=True)  # round trip


def test_hardness_map_goes_to_event_storage_every_vis_period():
    model = _model("MODEL.HARDNESS.VIS_PERIOD", 2)
    model.train()
    images, targets = _inputs(model, h=32, w=48)
    for it, expected in ((0, True), (1, False), (2, True)):
        with EventStorage(it) as storage:
            model.sem_seg_head(model.backbone(images), targets)
            names = [name for name, _, _ in storage._vis_data]
            assert ("hardness/map | pixel loss" in names) == expected
            if expected:
                img = storage._vis_data[0][1]
                assert img.shape == (3, 32, 96) and 0 <= img.min() and img.max() <= 1
            assert "hardness/weight_ratio" in storage.histories()
