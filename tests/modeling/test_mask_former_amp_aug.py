"""Mask2Former official-recipe details (docs/methods/mask2former.md §6): the float32 guard around
deformable attention under autocast, ColorAugSSD and the official label resize.

AMP is tested with CPU autocast in bfloat16 (float16 autocast needs CUDA, and detectron2's
AMPTrainer asserts CUDA); the guard is the same code path for both dtypes."""

import numpy as np
import pytest
import torch
from PIL import Image
from torch.nn import functional as F

from detectron2.data import transforms as T
from detectron2.modeling import build_model
from detectron2.projects.point_rend import ColorAugSSDTransform
from detectron2.utils.events import EventStorage

from hardseg.data.mappers import MaskFormerSemanticDatasetMapper
from hardseg.engine.lazy import load_lazy_config
from hardseg.model_zoo import CONFIG_ROOT
from hardseg.modeling.pixel_decoder.ms_deform_attn import MSDeformAttn
from tests.common import random_batch, tiny_cfg, write_label_png

INSTANT = "quick_schedules/maskformer2_R18_instant_test.yaml"
RECIPES = [
    "cityscapes/semantic-segmentation/maskformer2_R50_bs16_90k.yaml",
    "cityscapes/semantic-segmentation/maskformer2_R50_hl_bs16_90k.yaml",
    "ade20k/semantic-segmentation/maskformer2_R50_bs16_160k.yaml",
    "ade20k/semantic-segmentation/maskformer2_R50_hl_bs16_160k.yaml",
]


def test_deformable_attention_runs_in_float32_under_autocast():
    torch.manual_seed(0)
    model = build_model(tiny_cfg(config=INSTANT))
    model.train()
    seen = []
    for m in model.modules():
        if isinstance(m, MSDeformAttn):
            m.register_forward_pre_hook(
                lambda mod, args: seen.append({a.dtype for a in args if a.is_floating_point()})
            )
    decoder_out = []
    model.sem_seg_head.pixel_decoder.register_forward_hook(
        lambda mod, args, out: decoder_out.append(out)
    )
    batch = random_batch(n=2, h=64, w=64)
    with EventStorage(), torch.autocast("cpu", dtype=torch.bfloat16):
        losses = model(batch)
    assert seen and all(dtypes == {torch.float32} for dtypes in seen)
    mask_features, multi_scale = decoder_out[0]
    assert mask_features.dtype == torch.float32
    assert all(x.dtype == torch.float32 for x in multi_scale)
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("path", RECIPES)
def test_official_recipes_turn_on_amp_colour_aug_and_torch_label_resize(path):
    cfg = tiny_cfg(config=path)
    assert cfg.SOLVER.AMP.ENABLED and cfg.INPUT.COLOR_AUG_SSD
    assert cfg.INPUT.LABEL_RESIZE == "torch"
    mapper = MaskFormerSemanticDatasetMapper(cfg, is_train=True)
    augs = [type(getattr(a, "tfm", a)) for a in mapper.augmentations.augs]
    i = augs.index(ColorAugSSDTransform)
    assert augs[i - 1] is T.RandomCrop_CategoryAreaConstraint and augs[i + 1] is T.RandomFlip
    assert mapper.label_as_float
    lazy = load_lazy_config(str(CONFIG_ROOT / "lazy" / path.replace("/semantic-segmentation", "")
                                .replace(".yaml", ".py")))  # fmt: skip
    assert lazy.train.amp.enabled and lazy.dataloader.train.mapper.label_resize == "torch"
    lazy_augs = [a._target_ for a in lazy.dataloader.train.mapper.augmentations]
    assert lazy_augs[-2:] == [ColorAugSSDTransform, T.RandomFlip]


def test_other_configs_keep_pil_resize_and_no_colour_aug():
    cfg = tiny_cfg(config=INSTANT)
    assert not cfg.INPUT.COLOR_AUG_SSD and cfg.INPUT.LABEL_RESIZE == "pil"
    assert not cfg.SOLVER.AMP.ENABLED
    mapper = MaskFormerSemanticDatasetMapper(cfg, is_train=True)
    assert not mapper.label_as_float
    assert ColorAugSSDTransform not in [
        type(getattr(a, "tfm", a)) for a in mapper.augmentations.augs
    ]
    with pytest.raises(ValueError, match="LABEL_RESIZE"):
        MaskFormerSemanticDatasetMapper(
            tiny_cfg("INPUT.LABEL_RESIZE", "cv2", config=INSTANT), is_train=True
        )


def _label():
    """A 40x56 label of thin stripes and blocks (many boundaries), values 0..6."""
    y, x = np.mgrid[:40, :56]
    return ((x // 3 + y // 5) % 7).astype(np.uint8)


def official_label_resize(label, new_h, new_w):
    """The official mapper's label: read as float64, so detectron2's ResizeTransform calls
    torch's F.interpolate(mode="nearest")."""
    t = torch.from_numpy(label.astype(np.float64))[None, None]
    return F.interpolate(t, (new_h, new_w), mode="nearest")[0, 0].numpy().astype(np.int64)


@pytest.mark.parametrize("mode", ["torch", "pil"])
def test_label_resize_modes(tmp_path, mode):
    label = _label()
    write_label_png(tmp_path / "l.png", label)
    Image.fromarray(np.zeros((40, 56, 3), np.uint8)).save(tmp_path / "i.png")
    mapper = MaskFormerSemanticDatasetMapper(
        is_train=True,
        augmentations=[T.ResizeShortestEdge((29,), 1000, "choice")],
        image_format="RGB",
        num_classes=7,
        label_resize=mode,
    )
    out = mapper(
        {"file_name": str(tmp_path / "i.png"), "sem_seg_file_name": str(tmp_path / "l.png"),
         "height": 40, "width": 56}
    )["sem_seg"].numpy()  # fmt: skip
    new_h, new_w = 29, int(56 * 29 / 40 + 0.5)
    torch_resized = official_label_resize(label, new_h, new_w)
    pil_resized = np.asarray(Image.fromarray(label).resize((new_w, new_h), Image.NEAREST))
    assert out.shape == (new_h, new_w)
    assert np.array_equal(out, torch_resized if mode == "torch" else pil_resized)
    assert (torch_resized != pil_resized).mean() > 0.01  # the two differ at boundaries
