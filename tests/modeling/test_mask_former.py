"""Mask-classification model (HardMaskFormer): config defaults, semantic inference, criterion
values worked out by hand, decoder structure, mapper, optimizer, and the train_net loop."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from detectron2.config import get_cfg
from detectron2.modeling import build_model
from detectron2.projects.point_rend.point_features import point_sample
from detectron2.utils.events import EventStorage

from hardseg.config import add_hardseg_config
from hardseg.data.mappers import MaskFormerSemanticDatasetMapper
from hardseg.engine.lazy import load_lazy_config
from hardseg.model_zoo import CONFIG_ROOT
from hardseg.modeling.mask_former import (
    HungarianMatcher,
    MaskClassificationCriterion,
    semantic_inference,
    semantic_mask_targets,
)
from hardseg.solver import build_optimizer
from tests.common import random_batch, read_metrics, run_tool, tiny_cfg, write_label_png

INSTANT = "quick_schedules/maskformer2_R18_instant_test.yaml"
CITYSCAPES = "cityscapes/semantic-segmentation/maskformer2_R50_bs16_90k.yaml"


def test_config_defaults_are_mask2former_r50():
    cfg = get_cfg()
    add_hardseg_config(cfg)
    mf = cfg.MODEL.MASK_FORMER
    assert mf.TRANSFORMER_DECODER_NAME == "MultiScaleMaskedTransformerDecoder"
    assert (mf.NUM_OBJECT_QUERIES, mf.NHEADS, mf.HIDDEN_DIM, mf.DIM_FEEDFORWARD) == (
        100,
        8,
        256,
        2048,
    )
    assert (mf.DEC_LAYERS, mf.NUM_FEATURE_LEVELS, mf.DROPOUT, mf.PRE_NORM) == (10, 3, 0.0, False)
    assert (mf.CLASS_WEIGHT, mf.MASK_WEIGHT, mf.DICE_WEIGHT, mf.NO_OBJECT_WEIGHT) == (
        2.0,
        5.0,
        5.0,
        0.1,
    )
    assert (mf.TRAIN_NUM_POINTS, mf.OVERSAMPLE_RATIO, mf.IMPORTANCE_SAMPLE_RATIO) == (
        12544,
        3.0,
        0.75,
    )
    assert mf.DEEP_SUPERVISION and not mf.ENFORCE_INPUT_PROJ and mf.SIZE_DIVISIBILITY == 32
    assert not mf.TEST.SEM_SEG_POSTPROCESSING_BEFORE_INFERENCE
    head = cfg.MODEL.SEM_SEG_HEAD
    assert head.PIXEL_DECODER_NAME == "MSDeformAttnPixelDecoder" and head.MASK_DIM == 256
    assert head.TRANSFORMER_ENC_LAYERS == 6
    assert head.DEFORMABLE_TRANSFORMER_ENCODER_IN_FEATURES == ["res3", "res4", "res5"]
    assert (
        head.DEFORMABLE_TRANSFORMER_ENCODER_N_HEADS,
        head.DEFORMABLE_TRANSFORMER_ENCODER_N_POINTS,
        head.DEFORMABLE_TRANSFORMER_ENCODER_DIM_FEEDFORWARD,
    ) == (8, 4, 1024)
    assert cfg.INPUT.SIZE_DIVISIBILITY == -1
    s = cfg.SOLVER
    assert (s.OPTIMIZER, s.BACKBONE_MULTIPLIER, s.WEIGHT_DECAY_EMBED) == ("SGD", 1.0, 0.0)


def test_cityscapes_r50_recipe_and_structure():
    cfg = tiny_cfg(config=CITYSCAPES)
    assert cfg.INPUT.DATASET_MAPPER_NAME == "mask_former_semantic"
    assert (cfg.SOLVER.OPTIMIZER, cfg.SOLVER.BASE_LR, cfg.SOLVER.WEIGHT_DECAY) == (
        "ADAMW",
        1e-4,
        0.05,
    )
    assert cfg.SOLVER.BACKBONE_MULTIPLIER == 0.1 and cfg.SOLVER.MAX_ITER == 90000
    assert cfg.SOLVER.CLIP_GRADIENTS.CLIP_TYPE == "full_model"
    assert cfg.SOLVER.CLIP_GRADIENTS.CLIP_VALUE == 0.01
    assert tuple(cfg.INPUT.CROP.SIZE) == (512, 1024)
    model = build_model(cfg)
    dec = model.sem_seg_head.predictor
    assert len(dec.cross_attention) == 9 and dec.query_feat.num_embeddings == 100
    assert dec.class_embed.out_features == 20 and dec.num_heads == 8
    assert dec.ffn[0].linear1.out_features == 2048
    assert len(model.sem_seg_head.pixel_decoder.encoder) == 6
    assert model.hardness_branch is None
    c = model.criterion
    assert (c.num_points, c.oversample_ratio, c.importance_sample_ratio) == (12544, 3.0, 0.75)
    assert (c.class_weight, c.mask_weight, c.dice_weight, c.no_object_weight) == (2, 5, 5, 0.1)
    n = sum(p.numel() for p in model.parameters())
    assert 43.5e6 < n < 44.5e6, n  # Mask2Former R50 semantic: 44M (paper / model zoo)


def test_semantic_inference_on_hand_built_queries():
    # 3 classes; q0 says class 1 on the left half, q1 class 2 on the right half, q2 is mostly
    # "no object" with a full mask and a faint class-0 probability
    mask_cls = torch.tensor([[0.0, 6.0, 0.0, 0.0], [0.0, 0.0, 6.0, 0.0], [2.0, -5.0, -5.0, 8.0]])
    left = torch.zeros(4, 6)
    left[:, :3] = 1
    mask_pred = torch.stack([10 * (2 * left - 1), 10 * (1 - 2 * left), torch.full((4, 6), 10.0)])
    out = semantic_inference(mask_cls, mask_pred)
    assert out.shape == (3, 4, 6)
    expected_map = torch.where(left.bool(), 1, 2)
    assert torch.equal(out.argmax(0), expected_map)
    # value check with explicit loops, "no object" dropped after the softmax
    prob = F.softmax(mask_cls, dim=-1)
    for k in range(3):
        for y, x in [(0, 0), (3, 5)]:
            v = sum(prob[q, k] * torch.sigmoid(mask_pred[q, y, x]) for q in range(3))
            assert out[k, y, x].item() == pytest.approx(v.item(), rel=1e-6)


def test_semantic_mask_targets_exclude_ignore():
    sem = torch.tensor([[0, 0, 255], [3, 3, 255]])
    classes, masks = semantic_mask_targets(sem, 255)
    assert classes.tolist() == [0, 3]
    assert masks.dtype == torch.bool
    assert masks[0].tolist() == [[True, True, False], [False, False, False]]
    assert masks[1].tolist() == [[False, False, False], [True, True, False]]
    assert semantic_mask_targets(torch.full((2, 2), 255), 255)[1].shape == (0, 2, 2)


def test_mapper_pads_and_builds_masks(tmp_path):
    from PIL import Image

    img = np.full((40, 50, 3), 7, dtype=np.uint8)
    Image.fromarray(img).save(tmp_path / "img.png")
    label = np.zeros((40, 50), dtype=np.uint8)
    label[:, 25:] = 4
    label[:5] = 255
    write_label_png(tmp_path / "lab.png", label)
    mapper = MaskFormerSemanticDatasetMapper(
        True,
        augmentations=[],
        image_format="RGB",
        num_classes=7,
        ignore_value=255,
        size_divisibility=32,
    )
    d = mapper(
        {
            "file_name": str(tmp_path / "img.png"),
            "sem_seg_file_name": str(tmp_path / "lab.png"),
            "height": 40,
            "width": 50,
        }
    )
    assert d["image"].shape == (3, 64, 64) and d["sem_seg"].shape == (64, 64)
    assert (d["image"][:, 40:] == 128).all() and (d["image"][:, :40, :50] == 7).all()
    assert (d["sem_seg"][40:] == 255).all() and (d["sem_seg"][:, 50:] == 255).all()
    inst = d["instances"]
    assert inst.image_size == (64, 64) and inst.gt_classes.tolist() == [0, 4]
    expected4 = torch.zeros(64, 64, dtype=torch.bool)
    expected4[5:40, 25:50] = True
    assert torch.equal(inst.gt_masks[1], expected4)
    assert not inst.gt_masks[:, :5].any()  # ignore excluded


class _FixedPointCriterion(MaskClassificationCriterion):
    """Points at fixed interior positions (the real sampling is PointRend's, tested upstream)."""

    def sample_points(self, src_masks, tgt_masks):
        m = len(src_masks)
        g = torch.Generator().manual_seed(1)
        coords = (0.25 + 0.5 * torch.rand(1, self.num_points, 2, generator=g)).expand(m, -1, -1)
        logits = point_sample(src_masks[:, None], coords, align_corners=False)[:, 0]
        labels = point_sample(tgt_masks[:, None].float(), coords, align_corners=False)[:, 0]
        return coords, logits, labels


def test_criterion_values_by_hand():
    torch.manual_seed(0)
    k, p = 3, 20
    logits = torch.randn(1, 2, k + 1)
    a = torch.tensor([1.5, -0.5])  # constant mask logits of the two queries
    pred_masks = a[:, None, None].expand(2, 8, 8)[None].clone()
    target = {"labels": torch.tensor([2]), "masks": torch.ones(1, 32, 32, dtype=torch.bool)}
    crit = _FixedPointCriterion(
        k, HungarianMatcher(num_points=p), num_points=p, deep_supervision=False
    )
    losses = crit({"pred_logits": logits, "pred_masks": pred_masks}, [target])
    assert set(losses) == {"loss_ce", "loss_mask", "loss_dice"}
    src = crit.matcher({"pred_logits": logits, "pred_masks": pred_masks}, [target])[0][0].item()
    # class CE: weighted mean with weight 1 for the matched query's class, 0.1 for "no object"
    logp = F.log_softmax(logits[0], -1)
    other = 1 - src
    ce = -(1.0 * logp[src, 2] + 0.1 * logp[other, k]) / (1.0 + 0.1)
    assert losses["loss_ce"].item() == pytest.approx(2.0 * ce.item(), rel=1e-5)
    bce = F.softplus(-a[src])  # target 1 everywhere
    s = torch.sigmoid(a[src])
    dice = 1 - (2 * s * p + 1) / (s * p + p + 1)
    assert losses["loss_mask"].item() == pytest.approx(5.0 * bce.item(), rel=1e-5)
    assert losses["loss_dice"].item() == pytest.approx(5.0 * dice.item(), rel=1e-5)


def test_criterion_without_targets_gives_zero_mask_losses():
    crit = MaskClassificationCriterion(3, HungarianMatcher(num_points=16), num_points=16)
    out = {"pred_logits": torch.randn(1, 2, 4), "pred_masks": torch.randn(1, 2, 8, 8)}
    empty = {"labels": torch.zeros(0, dtype=torch.long), "masks": torch.zeros(0, 32, 32)}
    losses = crit(out, [empty])
    assert losses["loss_mask"].item() == 0 and losses["loss_dice"].item() == 0
    assert losses["loss_ce"].item() > 0


def test_decoder_round_robin_and_deep_supervision():
    cfg = tiny_cfg("MODEL.MASK_FORMER.DEC_LAYERS", 5, config=INSTANT)
    model = build_model(cfg)
    dec = model.sem_seg_head.predictor
    seen = []
    for layer in dec.cross_attention:
        layer.register_forward_hook(lambda m, inp, out: seen.append(inp[1].shape[1]))
    model.train()
    with EventStorage():
        losses = model(random_batch(n=1, h=64, w=64))
    # 64x64 input: scales res5 (2x2), res4 (4x4), res3 (8x8), coarsest first, round-robin
    assert seen == [4, 16, 64, 4]
    keys = {"loss_ce", "loss_mask", "loss_dice"}
    assert set(losses) == keys | {f"{k}_{i}" for k in keys for i in range(4)}


def _step_and_infer(model, k=7):
    model.train()
    with EventStorage():
        losses = model(random_batch(n=2, h=64, w=64, num_classes=k))
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    for name in ["backbone", "sem_seg_head.pixel_decoder", "sem_seg_head.predictor"]:
        grads = [p.grad for n, p in model.named_parameters() if n.startswith(name)]
        assert any(g is not None and g.abs().sum() > 0 for g in grads), name
    model.eval()
    with torch.no_grad():
        out = model(random_batch(n=1, h=48, w=80, with_labels=False))
    assert out[0]["sem_seg"].shape == (k, 48, 80)
    assert (out[0]["sem_seg"] >= 0).all()


@pytest.mark.parametrize("pixel_decoder", ["MSDeformAttnPixelDecoder", "FPNPixelDecoder"])
def test_training_step_and_inference(pixel_decoder):
    torch.manual_seed(0)
    cfg = tiny_cfg("MODEL.SEM_SEG_HEAD.PIXEL_DECODER_NAME", pixel_decoder, config=INSTANT)
    _step_and_infer(build_model(cfg))


def test_lazy_twin_step():
    torch.manual_seed(0)
    from detectron2.config import instantiate

    cfg = load_lazy_config(
        str(CONFIG_ROOT / "lazy/quick_schedules/maskformer2_R18_instant_test.py")
    )
    _step_and_infer(instantiate(cfg.model))


def test_optimizer_adamw_multiplier_and_full_model_clipping():
    cfg = tiny_cfg(config=INSTANT)
    cfg.SOLVER.BACKBONE_MULTIPLIER = 0.1
    model = build_model(cfg)
    opt = build_optimizer(cfg, model)
    assert isinstance(opt, torch.optim.AdamW)
    lr_of = {id(p): g["lr"] for g in opt.param_groups for p in g["params"]}
    wd_of = {id(p): g["weight_decay"] for g in opt.param_groups for p in g["params"]}
    base = cfg.SOLVER.BASE_LR
    for n, p in model.named_parameters():
        expected = base * 0.1 if n.startswith("backbone.") else base
        assert lr_of[id(p)] == pytest.approx(expected), n
    dec = model.sem_seg_head.predictor
    assert wd_of[id(dec.query_feat.weight)] == 0.0  # WEIGHT_DECAY_EMBED
    assert wd_of[id(dec.decoder_norm.weight)] == 0.0  # WEIGHT_DECAY_NORM
    assert wd_of[id(dec.class_embed.weight)] == 0.05
    for g in opt.param_groups:
        g["lr"] = 0.0
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    opt.step()
    total = torch.sqrt(sum((p.grad**2).sum() for p in model.parameters()))
    assert total.item() == pytest.approx(0.01, rel=1e-4)  # CLIP_VALUE, all parameters together


def test_sgd_without_multiplier_is_detectron2s():
    cfg = tiny_cfg()  # the DeepLabV3+ instant test: SGD
    opt = build_optimizer(cfg, build_model(cfg))
    assert type(opt) is torch.optim.SGD


def test_trainer_selects_the_mask_former_mapper():
    from hardseg.engine import Trainer

    cfg = tiny_cfg(config=INSTANT)
    batch = next(iter(Trainer.build_train_loader(cfg)))
    assert len(batch) == 2
    for d in batch:
        inst = d["instances"]
        assert d["image"].shape[-2:] == inst.gt_masks.shape[-2:] == (64, 64)
        assert inst.gt_classes.max() < 7 and inst.gt_masks.dtype == torch.bool


def test_unknown_optimizer_name_is_an_error():
    cfg = tiny_cfg(config=INSTANT)
    cfg.SOLVER.OPTIMIZER = "LAMB"
    with pytest.raises(ValueError, match="SOLVER.OPTIMIZER"):
        build_optimizer(cfg, build_model(cfg))


def test_train_net_trains_and_evaluates(tmp_path):
    out = run_tool(
        "train_net.py",
        "--config-file",
        CONFIG_ROOT / INSTANT,
        "SOLVER.MAX_ITER",
        3,
        "OUTPUT_DIR",
        tmp_path,
    )
    assert "HardMaskFormer(" in out and "loss_dice:" in out and "loss_hardness" not in out
    metrics = read_metrics(tmp_path)
    assert 0.0 <= metrics["sem_seg"]["mIoU"] <= 100.0
    assert (tmp_path / "model_final.pth").is_file()


def test_position_encoding_formula():
    from hardseg.modeling.transformer_decoder import PositionEmbeddingSine

    pe = PositionEmbeddingSine(num_pos_feats=4, normalize=True)(torch.zeros(1, 3, 2, 5))
    assert pe.shape == (1, 8, 2, 5)
    y, x = 1, 3  # 0-based row/column -> normalised coordinates (y+1)/H * 2pi, (x+1)/W * 2pi
    cy, cx = (y + 1) / 2 * 2 * np.pi, (x + 1) / 5 * 2 * np.pi
    for i in range(4):
        freq = 10000 ** (2 * (i // 2) / 4)
        fn = np.sin if i % 2 == 0 else np.cos
        assert pe[0, i, y, x].item() == pytest.approx(fn(cy / freq), abs=1e-5)
        assert pe[0, 4 + i, y, x].item() == pytest.approx(fn(cx / freq), abs=1e-5)


def test_encoder_reference_points_are_pixel_centres():
    from hardseg.modeling.pixel_decoder.msdeform_pixel_decoder import _reference_points

    ref = _reference_points([(2, 4), (1, 2)], n=3, device="cpu")
    assert ref.shape == (3, 10, 2, 2)
    torch.testing.assert_close(ref[0, 5, 0], torch.tensor([0.375, 0.75]))  # row 1, col 1 of 2x4
    torch.testing.assert_close(ref[2, 9, 1], torch.tensor([0.75, 0.5]))  # col 1 of the 1x2 level


def test_attention_mask_of_the_next_layer():
    cfg = tiny_cfg(config=INSTANT)
    dec = build_model(cfg).sem_seg_head.predictor
    torch.manual_seed(0)
    output = torch.randn(2, 10, 32)
    mask_features = torch.randn(2, 32, 16, 16)
    logits, masks, blocked = dec.predict(output, mask_features, (4, 4))
    assert logits.shape == (2, 10, 8) and masks.shape == (2, 10, 16, 16)
    small = F.interpolate(masks, size=(4, 4), mode="bilinear", align_corners=False)
    expected = (small.sigmoid() < 0.5).flatten(2)  # (N, Q, 16), blocked where p < 0.5
    assert blocked.shape == (2 * 2, 10, 16)  # one copy per head, batch-major
    assert torch.equal(blocked[0], expected[0]) and torch.equal(blocked[1], expected[0])
    assert torch.equal(blocked[2], expected[1]) and not blocked.requires_grad
