"""Every registered loss is selectable from the config and trains the tiny model for a couple of
iterations; distance maps come from the data mapper and reach the loss through the meta-arch."""

import pytest
import torch

from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from hardseg.data.mappers import SemanticDatasetMapper
from hardseg.engine import Trainer
from hardseg.modeling.losses import registered_losses
from tests.common import random_batch, tiny_cfg

# Options that make the losses bite on a 2 x 64 x 64 batch (OHEM's default min_kept is 100000).
SMALL = {"ohem_cross_entropy": ("MODEL.SEM_SEG_LOSS.OHEM_CROSS_ENTROPY.MIN_KEPT", "100")}


def _with_maps(cfg, batch):
    generator = SemanticDatasetMapper(cfg, is_train=True).target_generator
    for d in batch:
        d.update(generator(d["sem_seg"].numpy()) if generator else {})
    return batch


@pytest.mark.parametrize("name", registered_losses())
def test_each_loss_trains_from_config(name):
    torch.manual_seed(0)
    opts = ["MODEL.SEM_SEG_HEAD.LOSSES", f"['{name}']", *SMALL.get(name, ())]
    cfg = tiny_cfg(*opts)
    model = build_model(cfg)
    model.train()
    batch = _with_maps(cfg, random_batch(2, 48, 48))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    before = model.sem_seg_head.predictor.weight.detach().clone()
    with EventStorage():
        for _ in range(2):
            losses = model(batch)
            assert list(losses) == ["loss_sem_seg"]
            loss = sum(losses.values())
            assert torch.isfinite(loss)
            opt.zero_grad()
            loss.backward()
            opt.step()
    assert not torch.equal(before, model.sem_seg_head.predictor.weight)


def test_weighted_sum_from_config_gives_one_key_per_term():
    cfg = tiny_cfg(
        "MODEL.SEM_SEG_HEAD.LOSSES",
        "['cross_entropy', 'dice', 'boundary']",
        "MODEL.SEM_SEG_HEAD.LOSS_WEIGHTS",
        "[1.0, 0.5, 0.01]",
    )
    model = build_model(cfg)
    head = model.sem_seg_head
    assert head.required_loss_inputs == ("signed_dist",)
    model.train()
    batch = _with_maps(cfg, random_batch(2, 48, 48))
    with EventStorage():
        losses = model(batch)
    assert set(losses) == {
        "loss_sem_seg_cross_entropy",
        "loss_sem_seg_dice",
        "loss_sem_seg_boundary",
    }
    # the weights are applied where the loss is made: 0.5 * Dice of the same logits
    feats = model.backbone(
        torch.stack([(d["image"].float() - model.pixel_mean) / model.pixel_std for d in batch])
    )
    logits = head.upsample(head.layers(feats))
    targets = torch.stack([d["sem_seg"] for d in batch])
    dice = head.loss.terms[1][2](logits, targets)
    torch.testing.assert_close(losses["loss_sem_seg_dice"], 0.5 * dice)
    # no per-pixel form because Dice has none
    with pytest.raises(TypeError, match=r"\['dice'\]"):
        head.pixel_loss(head.layers(feats), targets)
    # without the maps in the batch the error names them
    for d in batch:
        del d["signed_dist"]
    with EventStorage(), pytest.raises(ValueError, match="signed_dist"):
        model(batch)


def test_mapper_computes_maps_only_when_needed_after_augmentation():
    cfg = tiny_cfg("MODEL.SEM_SEG_HEAD.LOSSES", "['dist_penalty_cross_entropy', 'hausdorff_dt']")
    loader = iter(Trainer.build_train_loader(cfg))
    batch = next(loader)
    d = batch[0]
    h, w = d["sem_seg"].shape
    # stored compactly: the penalty in uint8, the signed maps of the present classes in int16
    assert d["dist_penalty"].shape == (h, w) and d["dist_penalty"].dtype == torch.uint8
    present = torch.unique(d["sem_seg"])
    present = present[present < 7]
    assert torch.equal(d["signed_dist"].classes, present)
    assert d["signed_dist"].maps.shape == (len(present), h, w)
    assert d["signed_dist"].maps.dtype == torch.int16 and d["signed_dist"].num_classes == 7
    # the maps are those of the augmented (cropped / flipped) label the model sees
    mapper = SemanticDatasetMapper(cfg, is_train=True)
    assert mapper.target_generator.keys == ("dist_penalty", "signed_dist")
    again = mapper.target_generator(d["sem_seg"].numpy())
    assert torch.equal(again["signed_dist"].maps, d["signed_dist"].maps)
    assert torch.equal(again["dist_penalty"], d["dist_penalty"])
    plain = SemanticDatasetMapper(tiny_cfg(), is_train=True)
    assert plain.target_generator is None
    assert SemanticDatasetMapper(cfg, is_train=False).target_generator is None


@pytest.mark.parametrize(
    "config,losses",
    [
        ("quick_schedules/pspnet_R18_hl_instant_test.yaml", "['focal', 'boundary']"),
        (
            "quick_schedules/deeplabv3plus_R18_hl_instant_test.yaml",
            "['dist_penalty_cross_entropy']",
        ),
    ],
)
def test_other_heads_and_hl_train_with_distance_map_losses(config, losses):
    """The loss config reaches the PSPNet head too, and HL re-weights a per-pixel loss that needs
    distance maps (they reach the decode head inside the HL wrapper)."""
    torch.manual_seed(0)
    cfg = tiny_cfg("MODEL.SEM_SEG_HEAD.LOSSES", losses, config=config)
    model = build_model(cfg)
    model.train()
    batch = _with_maps(cfg, random_batch(2, 48, 48))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with EventStorage():
        for _ in range(2):
            out = model(batch)
            assert "loss_hardness" in out and any(k.startswith("loss_sem_seg") for k in out)
            loss = sum(out.values())
            assert torch.isfinite(loss)
            opt.zero_grad()
            loss.backward()
            opt.step()
