"""The official HL runs' per-pixel training geometry (docs/methods/hl.md §8.1-8.3), on tiny-width
versions of the Cityscapes R101c 769 configs: they train; crops are padded to exactly 769x769
(mmseg ``Pad``) with label pixel j on stride-8 cell j/8; slide windows run unpadded; HL's
normaliser covers the full crop; the plain CE is averaged over all pixels (mmseg 0.x)."""

import math

import pytest
import torch

from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

from hardseg.modeling.meta_arch.hard_segmentor import pad_to_size_from_config
from tests.common import tiny_cfg

CITY = "cityscapes/semantic-segmentation/"
K = 19

# R18 at 1/8 width with the configs' stem, dilations, heads and crop geometry; BN on CPU.
TINY = [
    "MODEL.DEVICE", "cpu", "MODEL.RESNETS.DEPTH", 18, "MODEL.RESNETS.NORM", "BN",
    "MODEL.RESNETS.STEM_OUT_CHANNELS", 8, "MODEL.RESNETS.RES2_OUT_CHANNELS", 8,
    "MODEL.RESNETS.RES5_MULTI_GRID", [1, 1], "MODEL.SEM_SEG_HEAD.NORM", "BN",
    "MODEL.AUX_HEAD.CHANNELS", 8,
]  # fmt: skip
DEEPLAB_TINY = [
    "MODEL.SEM_SEG_HEAD.ASPP_CHANNELS", 16, "MODEL.SEM_SEG_HEAD.CONVS_DIM", 16,
    "MODEL.SEM_SEG_HEAD.PROJECT_CHANNELS", [8], "MODEL.SEM_SEG_HEAD.CHANNELS", 16,
]  # fmt: skip
PSP_TINY = ["MODEL.SEM_SEG_HEAD.CHANNELS", 16]


def _model(config, *opts):
    extra = DEEPLAB_TINY if "deeplab" in config else PSP_TINY
    cfg = tiny_cfg(*TINY, *extra, *opts, config=CITY + config)
    torch.manual_seed(0)
    return build_model(cfg), cfg


def _batch(sizes, ignore_right_half=False):
    g = torch.Generator().manual_seed(0)
    out = []
    for h, w in sizes:
        label = torch.randint(0, K, (h, w), generator=g)
        if ignore_right_half:
            label[:, w // 2 :] = 255
        image = torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8)
        out.append({"image": image, "sem_seg": label, "height": h, "width": w})
    return out


def _zero_predictor(head):
    head = getattr(head, "seg", head)
    torch.nn.init.zeros_(head.predictor.weight)
    torch.nn.init.zeros_(head.predictor.bias)


@pytest.mark.parametrize(
    "config,pad",
    [
        ("deeplabv3plus_R101c_os8_769_bs8_40k.yaml", "True"),
        ("deeplabv3plus_R101c_os8_769_hl_bs8_40k.yaml", "True"),
        # the former geometry (772 = 769 rounded up to 4): the stride-8 FCN aux logits (97 cells,
        # x8 = 776) used to stop training with a size mismatch; they now resize to the labels
        ("deeplabv3plus_R101c_os8_769_bs8_40k.yaml", "False"),
    ],
)
def test_deeplabv3plus_r101c_769_trains_one_step(config, pad):
    model, _ = _model(config, "INPUT.CROP.PAD_TO_SIZE", pad)
    model.train()
    with EventStorage():
        losses = model(_batch([(769, 769), (600, 769)]))
    assert "loss_aux" in losses
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()


def test_official_configs_pad_to_the_crop_and_normalise_over_all_pixels():
    for stem in ("pspnet", "deeplabv3plus"):
        for hl in ("", "_hl"):
            cfg = tiny_cfg(config=f"{CITY}{stem}_R101c_os8_769{hl}_bs8_40k.yaml")
            assert pad_to_size_from_config(cfg) == (769, 769)
            assert cfg.MODEL.SEM_SEG_LOSS.CROSS_ENTROPY.AVG_OVER_ALL_PIXELS
    # HardSeg's own configs keep the former defaults
    cfg = tiny_cfg()
    assert pad_to_size_from_config(cfg) is None
    assert not cfg.MODEL.SEM_SEG_LOSS.CROSS_ENTROPY.AVG_OVER_ALL_PIXELS


def test_label_pixel_j_maps_to_stride8_cell_j_over_8():
    model, _ = _model("pspnet_R101c_os8_769_hl_bs8_40k.yaml")
    seen = {}
    head = model.sem_seg_head

    def record(logits, targets, **kw):
        seen["logits"], seen["targets"] = logits.shape, targets.shape
        return {"loss_sem_seg": logits.sum() * 0}

    head.losses = record
    model.train()
    with EventStorage():
        model(_batch([(600, 700), (512, 769)]))
    # 769 -> stem 385 -> pool 193 -> res3 97 = 8 * 12 + 1 cells; labels padded to 769, not 776
    assert seen["logits"][-2:] == (97, 97)
    assert seen["targets"] == (2, 769, 769)
    # align_corners=True resize of 97 cells to 769 pixels: pixel j reads cell j * 96 / 768 = j / 8
    ramp = torch.arange(97, dtype=torch.float64).view(1, 1, 1, 97).expand(1, 1, 97, 97)
    up = head.upsample(ramp, (769, 769))[0, 0, 0]
    assert torch.allclose(up, torch.arange(769, dtype=torch.float64) / 8, atol=1e-9)
    # the former geometry (776 = 769 rounded up to 8) stretches it: cell 96 at pixel 775
    old = head.upsample(ramp, (776, 776))[0, 0, 0]
    assert (old[768] - 96.0).abs() > 0.8


def test_slide_windows_run_unpadded():
    model, _ = _model("pspnet_R101c_os8_769_bs8_40k.yaml")
    sizes = []
    model.backbone.register_forward_pre_hook(lambda m, a: sizes.append(tuple(a[0].shape[-2:])))
    model.eval()
    with torch.no_grad():
        out = model(_batch([(800, 1000)]))[0]["sem_seg"]
    assert out.shape == (K, 800, 1000)
    assert sizes == [(769, 769)] * 4  # 2 x 2 windows, none padded to 776


def test_hl_normaliser_covers_the_full_crop_and_aux_ce_all_pixels():
    """All-zero classifiers: CE = log K at each labelled pixel. HL's weights are uniform at init
    only if the HL logit is constant, so zero its classifier too: w = 1 / (N * 769 * 769)."""
    model, _ = _model("pspnet_R101c_os8_769_hl_bs8_40k.yaml")
    _zero_predictor(model.sem_seg_head)
    _zero_predictor(model.aux_head)
    torch.nn.init.zeros_(model.sem_seg_head.hl.predictor.weight)
    model.train()
    with EventStorage():
        losses = model(_batch([(512, 769), (512, 769)], ignore_right_half=True))
    valid = 2 * 512 * (769 // 2)  # columns 0..383 labelled
    full_crop = 2 * 769 * 769
    expected = math.log(K) * valid / full_crop
    # the former geometry: the batch padded to 512 x 776, the aux CE a mean over valid pixels
    assert losses["loss_sem_seg"].item() == pytest.approx(expected, rel=1e-5)
    assert losses["loss_aux"].item() == pytest.approx(0.4 * expected, rel=1e-5)


def test_plain_ce_over_all_pixels_and_over_valid_pixels():
    model, _ = _model("pspnet_R101c_os8_769_bs8_40k.yaml")
    _zero_predictor(model.sem_seg_head)
    _zero_predictor(model.aux_head)
    model.train()
    with EventStorage():
        losses = model(_batch([(512, 769), (512, 769)], ignore_right_half=True))
    expected = math.log(K) * (2 * 512 * (769 // 2)) / (2 * 769 * 769)  # mmseg 0.x
    assert losses["loss_sem_seg"].item() == pytest.approx(expected, rel=1e-5)
    assert losses["loss_aux"].item() == pytest.approx(0.4 * expected, rel=1e-5)
    # the switch off: detectron2's mean over valid pixels, log K
    model, _ = _model(
        "pspnet_R101c_os8_769_bs8_40k.yaml",
        "MODEL.SEM_SEG_LOSS.CROSS_ENTROPY.AVG_OVER_ALL_PIXELS",
        "False",
    )
    _zero_predictor(model.sem_seg_head)
    _zero_predictor(model.aux_head)
    model.train()
    with EventStorage():
        losses = model(_batch([(512, 769), (512, 769)], ignore_right_half=True))
    assert losses["loss_sem_seg"].item() == pytest.approx(math.log(K), rel=1e-5)
    assert losses["loss_aux"].item() == pytest.approx(0.4 * math.log(K), rel=1e-5)


def test_pad_without_an_absolute_crop_is_named():
    cfg = tiny_cfg("INPUT.CROP.PAD_TO_SIZE", "True", "INPUT.CROP.ENABLED", "False")
    with pytest.raises(ValueError, match="PAD_TO_SIZE"):
        pad_to_size_from_config(cfg)
