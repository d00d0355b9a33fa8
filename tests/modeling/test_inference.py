"""Whole-image, sliding-window and multi-scale + flip inference (hardseg.modeling.inference) and
HardSegmentor's use of it in eval mode."""

import pytest
import torch
from torch.nn import functional as F

from detectron2.modeling import build_model

from hardseg.modeling.inference import (
    InferenceConfig,
    multi_scale_inference,
    pad_to_divisible,
    slide_inference,
    slide_windows,
    whole_inference,
)
from tests.common import random_batch, tiny_cfg


def window_mean(images):
    """Toy model: every pixel gets the mean of its window (so overlaps matter)."""
    return images[:, :1].mean(dim=(2, 3), keepdim=True).expand(-1, 1, *images.shape[-2:])


def test_sliding_window_by_hand():
    img = torch.tensor([1.0, 2, 3, 4]).view(1, 1, 1, 4).expand(1, 3, 1, 4)
    # crop 2, stride 1: windows [0,2) [1,3) [2,4) with means 1.5, 2.5, 3.5
    out = slide_inference(window_mean, img, (1, 2), (1, 1))
    torch.testing.assert_close(out.view(-1), torch.tensor([1.5, 2.0, 3.0, 3.5]))
    # width 5, crop 2, stride 2: the last window is shifted back to [3,5)
    assert slide_windows(1, 5, (1, 2), (1, 2)) == [(0, 1, 0, 2), (0, 1, 2, 4), (0, 1, 3, 5)]
    img5 = torch.arange(1.0, 6).view(1, 1, 1, 5).expand(1, 3, 1, 5)
    out = slide_inference(window_mean, img5, (1, 2), (1, 2))
    torch.testing.assert_close(out.view(-1), torch.tensor([1.5, 1.5, 3.5, 4.0, 4.5]))
    # an image smaller than the window is one (smaller) window
    assert slide_windows(3, 3, (4, 4), (2, 2)) == [(0, 3, 0, 3)]


def test_sliding_window_memory_is_bounded_by_the_window():
    sizes = []

    def fn(x):
        sizes.append(tuple(x.shape[-2:]))
        return x[:, :2]

    img = torch.randn(1, 3, 50, 70)
    out = slide_inference(fn, img, (16, 24), (8, 12))
    torch.testing.assert_close(out, img[:, :2])  # a pointwise model: averaging changes nothing
    assert len(sizes) == len(slide_windows(50, 70, (16, 24), (8, 12))) == 6 * 5
    assert set(sizes) == {(16, 24)}


def test_flip_tta_of_a_flip_equivariant_model_equals_the_plain_output():
    conv = torch.nn.Conv2d(3, 4, 3, padding=1)
    with torch.no_grad():
        conv.weight.copy_((conv.weight + conv.weight.flip(-1)) / 2)  # mirror-symmetric kernels
    img = torch.randn(2, 3, 10, 13)
    with torch.no_grad():
        plain = whole_inference(conv, img)
        flip = multi_scale_inference(conv, img, InferenceConfig(aug=True, flip=True))
        slide_flip = multi_scale_inference(
            conv, img, InferenceConfig("slide", (10, 8), (10, 5), aug=True, flip=True)
        )
    torch.testing.assert_close(flip, plain)
    # not trivially: the unflipped model output of a flipped image differs
    assert not torch.allclose(conv(img.flip(-1)), plain, atol=1e-3)
    # windows [0, 8) and [5, 13) of a width-13 image are mirror images of each other, so flip TTA
    # over sliding windows equals the plain sliding-window output
    with torch.no_grad():
        slide = slide_inference(conv, img, (10, 8), (10, 5))
    torch.testing.assert_close(slide_flip, slide)
    assert not torch.allclose(slide, plain, atol=1e-3)  # window borders do differ from whole


def test_multi_scale_of_a_pointwise_model_on_a_constant_image():
    conv = torch.nn.Conv2d(3, 2, 1)
    img = torch.ones(1, 3, 12, 16) * torch.tensor([0.5, -1.0, 2.0]).view(1, 3, 1, 1)
    with torch.no_grad():
        plain = conv(img)
        ms = multi_scale_inference(
            conv, img, InferenceConfig(aug=True, ratios=(0.5, 0.75, 1.75), flip=True)
        )
    torch.testing.assert_close(ms, plain)
    # ratios are ignored unless aug is on
    calls = []
    multi_scale_inference(lambda x: calls.append(x.shape) or x, img, InferenceConfig(ratios=(2.0,)))
    assert calls == [img.shape]


def test_pad_to_divisible_runs_padded_and_crops_back():
    seen = []

    def fn(x):
        seen.append(tuple(x.shape[-2:]))
        return x[:, :1] + 1

    out = pad_to_divisible(fn, 8)(torch.zeros(1, 3, 10, 13))
    assert seen == [(16, 16)] and out.shape == (1, 1, 10, 13)


def _outputs(cfg, inputs):
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    with torch.no_grad():
        return model(inputs)


def test_segmentor_slide_with_crop_equal_to_image_is_whole_inference():
    inputs = random_batch(2, 64, 96, with_labels=False)
    whole = _outputs(tiny_cfg(), inputs)
    slide = _outputs(
        tiny_cfg(
            "TEST.MODE",
            "slide",
            "TEST.SLIDE.CROP_SIZE",
            "(64, 96)",
            "TEST.SLIDE.STRIDE",
            "(32, 48)",
        ),
        inputs,
    )
    for a, b in zip(whole, slide):
        assert a["sem_seg"].shape == (7, 64, 96)
        torch.testing.assert_close(a["sem_seg"], b["sem_seg"])
    # whole-image inference is detectron2's SemanticSegmentor path
    torch.manual_seed(0)
    model = build_model(tiny_cfg()).eval()
    with torch.no_grad():
        ref = super(type(model), model).forward(inputs)
    torch.testing.assert_close(whole[0]["sem_seg"], ref[0]["sem_seg"], rtol=1e-4, atol=1e-4)


def test_segmentor_tta_and_sliding_from_config():
    inputs = random_batch(1, 64, 96, with_labels=False)
    inputs[0].update(height=32, width=48)
    cfg = tiny_cfg(
        "TEST.MODE",
        "slide",
        "TEST.SLIDE.CROP_SIZE",
        "(48, 48)",
        "TEST.SLIDE.STRIDE",
        "(32, 32)",
        "TEST.AUG.ENABLED",
        "True",
        "TEST.AUG.RATIOS",
        "[0.75, 1.0]",
    )
    out = _outputs(cfg, inputs)[0]["sem_seg"]
    assert out.shape == (7, 32, 48) and torch.isfinite(out).all()
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    fn = pad_to_divisible(model.logits_fn, model.backbone.size_divisibility)
    image = ((inputs[0]["image"] - model.pixel_mean) / model.pixel_std)[None]
    with torch.no_grad():
        runs = []
        for r in (0.75, 1.0):
            x = F.interpolate(image, scale_factor=r, mode="bilinear") if r != 1 else image
            for flip in (False, True):
                y = slide_inference(fn, x.flip(-1) if flip else x, (48, 48), (32, 32))
                y = y.flip(-1) if flip else y
                runs.append(F.interpolate(y, size=(64, 96), mode="bilinear"))
        expected = F.interpolate(sum(runs) / 4, size=(32, 48), mode="bilinear")[0]
    torch.testing.assert_close(out, expected)
    with pytest.raises(ValueError, match="TEST.MODE='sliding'"):
        build_model(tiny_cfg("TEST.MODE", "sliding"))


def test_odd_sizes_give_logits_at_the_input_size_as_detectron2_does():
    # the dilated R18 has no size_divisibility: a 50x70 input gives 52x72 head logits, which
    # SemanticSegmentor crops; the sliding windows (40x40) see the same cropping
    torch.manual_seed(0)
    model = build_model(tiny_cfg()).eval()
    inputs = random_batch(n=1, h=50, w=70, with_labels=False)
    with torch.no_grad():
        ours = model(inputs)[0]["sem_seg"]
        ref = super(type(model), model).forward(inputs)[0]["sem_seg"]
    assert ours.shape == (7, 50, 70)
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-4)
    shrink = pad_to_divisible(lambda x: x[..., ::2, ::2], 1)(torch.ones(1, 3, 6, 8))
    assert shrink.shape == (1, 3, 6, 8)
