"""ConfidenceAwareContrastiveHead: its three losses against cac_loss / the head's CE computed here,
gradient routing, inference, checkpoint keys, warm-up through the trainer's iteration (also
after a resume), config defaults and the errors for unsupported heads and losses."""

import pytest
import torch
from torch.nn import functional as F

from detectron2.engine import HookBase, TrainerBase
from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from hardseg.modeling.heads import CACOptions, ConfidenceAwareContrastiveHead
from hardseg.modeling.losses import cac_loss
from tests.common import random_batch, tiny_cfg

CAC_OPTS = (
    "MODEL.SEM_SEG_HEAD.NAME", "ConfidenceAwareContrastiveHead",
    "MODEL.CAC.HEAD_NAME", "DeepLabV3PlusPerPixelHead",
    "MODEL.CAC.THRESHOLD", 4,
    "MODEL.SEM_SEG_HEAD.ASPP_DROPOUT", 0.0,
)  # fmt: skip


def _model(*opts, seed=0):
    torch.manual_seed(seed)
    return build_model(tiny_cfg(*CAC_OPTS, *opts))


def _inputs(model, n=2, h=32, w=48, seed=0):
    batch = random_batch(n=n, h=h, w=w, seed=seed)
    images = torch.stack([(b["image"] - model.pixel_mean) / model.pixel_std for b in batch])
    return images, torch.stack([b["sem_seg"] for b in batch])


def test_defaults_pinned():
    c = tiny_cfg().MODEL.CAC
    assert (c.LOSS_WEIGHT, c.WEIGHT_LOSS_WEIGHT, c.TEMPERATURE, c.BASE_TEMPERATURE) == (
        0.4, 1.5, 0.1, 0.07,
    )  # fmt: skip
    assert (c.MAX_SAMPLE, c.THRESHOLD, c.PROJ_CHANNELS, c.WEIGHT_KERNEL_SIZE) == (1024, 100, 256, 1)
    assert (c.HARD_SORT, c.EASY_SORT, c.CLASS_MEAN, c.WARMUP_ITERS) == (True, True, "all_slots", 0)
    assert (c.HEAD_NAME, c.INPUT_FEATURE) == ("FCNHead", "")


def test_options_defaults_are_the_config_defaults_and_overrides_replace_them():
    assert CACOptions.from_config(tiny_cfg()) == CACOptions()
    o = CACOptions.resolve(CACOptions(threshold=4), loss_weight=1.0)
    assert (o.threshold, o.loss_weight, o.max_sample, o.proj_channels) == (4, 1.0, 1024, 256)
    assert o.loss_kwargs() == dict(
        max_sample=1024, threshold=4, temperature=0.1, base_temperature=0.07,
        hard_sort=True, easy_sort=True, class_mean="all_slots",
    )  # fmt: skip
    with pytest.raises(TypeError):
        CACOptions.resolve(thresold=4)
    with pytest.raises(ValueError, match="MODEL.CAC.CLASS_MEAN='mean'"):
        CACOptions.resolve(class_mean="mean")
    with pytest.raises(ValueError, match="MODEL.CAC.WARMUP_ITERS"):
        CACOptions(warmup_iters=-1)


def test_losses_match_parts_and_gradient_routing():
    model = _model()
    model.train()
    head = model.sem_seg_head
    assert head.cac_input == "decoder_concat"  # DeepLabV3+: docs/methods/cac.md §2 #2
    images, targets = _inputs(model)
    with EventStorage(0):
        features = model.backbone(images)
        losses = head.losses(head.layers(features), targets, features=features)
    assert set(losses) == {"loss_sem_seg", "loss_sem_seg_weight", "loss_cac"}

    # Independent recomputation from the parts.
    logits, taps = head.seg.layers(features, return_features=True)
    x = taps["decoder_concat"]
    wl = head.weight_branch(x.detach())
    up = lambda t: F.interpolate(t, size=targets.shape[-2:], mode="bilinear", align_corners=False)
    ce = F.cross_entropy(up(logits), targets, ignore_index=255)
    ce_w = 1.5 * F.cross_entropy(up(wl), targets, ignore_index=255)
    small = targets[:, ::4, ::4]  # nearest from 32x48 to 8x12 picks pixels 0, 4, 8, ...
    cac = 0.4 * cac_loss(head.proj(x), small, logits, wl, threshold=4)
    torch.testing.assert_close(losses["loss_sem_seg"], ce)
    torch.testing.assert_close(losses["loss_sem_seg_weight"], ce_w)
    torch.testing.assert_close(losses["loss_cac"], cac)
    assert cac.abs() > 0

    params = {
        "proj": list(head.proj.parameters()),
        "weight": list(head.weight_branch.parameters()),
        "classifier": [head.seg.predictor.weight],
        "backbone": [p for p in model.backbone.parameters() if p.requires_grad],
    }
    flat = [p for ps in params.values() for p in ps]
    reached = {}
    for key in losses:
        grads = torch.autograd.grad(losses[key], flat, retain_graph=True, allow_unused=True)
        i, reached[key] = 0, set()
        for name, ps in params.items():
            g = grads[i : i + len(ps)]
            i += len(ps)
            if any(t is not None and t.abs().sum() > 0 for t in g):
                reached[key].add(name)
    assert reached["loss_sem_seg"] == {"classifier", "backbone"}
    assert reached["loss_sem_seg_weight"] == {"weight"}
    assert reached["loss_cac"] == {"proj", "weight", "backbone"}


def test_inference_is_the_wrapped_head_and_plain_weights_load():
    model = _model()
    plain = build_model(tiny_cfg("MODEL.SEM_SEG_HEAD.ASPP_DROPOUT", 0.0))
    keys = set(model.state_dict())
    own = {k for k in keys if ".proj." in k or ".weight_branch." in k}
    assert own and keys - own == set(plain.state_dict())
    missing, unexpected = model.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected
    assert set(missing) == {k for k in own if not k.endswith("num_batches_tracked")}
    model.eval(), plain.eval()
    images, _ = _inputs(model, n=1)
    with torch.no_grad():
        a, _ = model.sem_seg_head(model.backbone(images))
        b, _ = plain.sem_seg_head(plain.backbone(images))
    torch.testing.assert_close(a, b)


class _Trainer(TrainerBase):
    """Runs only the head's losses; records alpha per iteration."""

    def __init__(self, head, features, targets):
        super().__init__()
        self.head, self.features, self.targets, self.alphas = head, features, targets, []

    def run_step(self):
        losses = self.head.losses(
            self.head.layers(self.features), self.targets, features=self.features
        )
        self.alphas.append(self.storage.latest()["cac/alpha"][0])
        assert (losses["loss_cac"] == 0) == (self.alphas[-1] == 0)


@pytest.mark.parametrize(
    "start,expected", [(0, [0, 0]), (3000, [0, 0]), (4998, [0, 0, 0.4]), (7000, [0.4, 0.4])]
)
def test_warmup_follows_the_trainer_iteration(start, expected):
    model = _model("MODEL.CAC.WARMUP_ITERS", 5000)
    images, targets = _inputs(model, n=1)
    with torch.no_grad():
        features = model.backbone(images)
    trainer = _Trainer(model.sem_seg_head, features, targets)  # a fresh module: resumed run
    trainer.train(start, start + len(expected))
    assert trainer.alphas == expected


def test_bad_heads_and_losses_name_the_key():
    with pytest.raises(ValueError, match="MODEL.CAC.HEAD_NAME"):
        _model("MODEL.CAC.HEAD_NAME", "MaskFormerHead")
    with pytest.raises(ValueError, match="LOSS_TYPE"):
        _model("MODEL.SEM_SEG_HEAD.LOSS_TYPE", "dice")
    with pytest.raises(ValueError, match="MODEL.CAC.INPUT_FEATURE"):
        _model("MODEL.CAC.INPUT_FEATURE", "res5")
    with pytest.raises(ValueError, match="MODEL.META_ARCHITECTURE"):
        _model("MODEL.META_ARCHITECTURE", "HardMaskFormer")
    with pytest.raises(ValueError, match="MODEL.CAC.CLASS_MEAN"):
        _model("MODEL.CAC.CLASS_MEAN", "mean")
    with pytest.raises(ValueError, match="MODEL.CAC.ENABLED"):
        _model("MODEL.CAC.ENABLED", True)
    with pytest.raises(ValueError, match="MODEL.CAC.WEIGHT_BRANCH"):
        _model("MODEL.CAC.WEIGHT_BRANCH", "head")  # FCNHead has no weight branch of its own
