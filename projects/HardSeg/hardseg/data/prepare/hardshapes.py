"""``hardshapes``: a small procedural street-scene-like dataset embedded in HardSeg.

Purpose
-------
``hardshapes`` lets every part of HardSeg (hardness-level loss weighting, confidence-aware
contrast, semi-supervised and domain-adaptive training, evaluation) be trained and tested from
scratch in minutes without downloading anything. Its classes are chosen so that *per-pixel
hardness matters*: most pixels belong to large, easy regions, while a few classes are thin or
small structures whose colour is close to their surroundings. A model that ignores the hard pixels
still gets a good pixel accuracy, but a poor IoU on the thin/small classes.

The images are rendered with OpenCV + numpy from a seed. Image ``i`` of a split uses its own
``numpy.random.Generator`` seeded from ``(seed, domain, split, i)``, so the data does not depend on
generation order or on the number of images generated. Generating both splits of one domain takes
about a second.

Layout on disk (Cityscapes-trainId style)
-----------------------------------------
::

    <root>/hardshapes/.complete                 # marker: generator version, seed, sizes
    <root>/hardshapes/images/{train,val}/00000.png   # RGB, uint8, 128 x 128
    <root>/hardshapes/labels/{train,val}/00000.png   # mode "L": class id 0..6, 255 = ignore
    <root>/hardshapes_shifted/...               # same layout, style-shifted target domain

``<root>`` is ``$DETECTRON2_DATASETS`` (default ``datasets``), read when a registered split is
loaded (``hardseg/data/datasets/hardshapes.py``). Train has 400 images, val 80
(``HARDSHAPES_SPLIT_SIZES``).

Classes
-------
====  ========  =====  ==================================================================
 id   name      kind   appearance
====  ========  =====  ==================================================================
 0    sky       large  top of the image, smooth vertical colour gradient
 1    ground    large  bottom of the image below a wavy horizon, noise-textured
 2    building  large  1-3 rectangles standing on the horizon, with a window texture
 3    pole      thin   vertical bars 2-3 px wide, grey-brown, with a lit edge
 4    wire      thin   1-2 px sagging curves in the sky, a darker blend of the sky colour
 5    crack     thin   jagged 1-2 px polylines on the ground, a darker copy of the ground
 6    stone     small  discs of radius 2-5 px on the ground, a lighter shaded ground colour
====  ========  =====  ==================================================================

``HARDSHAPES_THIN_CLASSES`` / ``HARDSHAPES_SMALL_CLASSES`` (names) and the matching ``*_IDS``
tuples name the hard classes, which benchmarks report separately.

Ignore pixels (255)
-------------------
* an "ego-vehicle" band with a curved top edge at the bottom of about 30% of the images;
* in about half of the images, a 1 px ring around every stone (an ambiguous boundary, rendered as
  a blend of stone and ground colours).

Style shift (``hardshapes_shifted``)
------------------------------------
The shifted domain uses the same label-geometry generator, so it has the same classes and the
same kind of label statistics, but a different seed stream (its images are not recoloured copies
of the source ones) and a different style: a dusk palette (purple/orange sky, blue-grey ground,
dark buildings, light poles), horizontally streaked ground instead of isotropic noise, banded
instead of gridded windows, clouds, a Gaussian blur and about 2.5x stronger pixel noise.

Generation is atomic: a domain is rendered into a temporary sibling directory, the marker is
written last, and the directory is renamed into place. If several processes (e.g. the ranks of a
distributed job) generate at once, the first rename wins and the others use the winner's copy.

This module renders and writes the data; ``hardseg/data/datasets/hardshapes.py`` registers it
(``hardshapes_sem_seg_{train,val}``, ``hardshapes_shifted_sem_seg_{train,val}``), and the data is
generated on the first ``DatasetCatalog.get``.
"""

import logging
import math
import os
import shutil
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np
from PIL import Image

logger = logging.getLogger(__name__)

__all__ = [
    "HARDSHAPES_CLASSES",
    "HARDSHAPES_COLORS",
    "HARDSHAPES_IGNORE_LABEL",
    "HARDSHAPES_CLASS_KINDS",
    "HARDSHAPES_LARGE_CLASSES",
    "HARDSHAPES_THIN_CLASSES",
    "HARDSHAPES_SMALL_CLASSES",
    "HARDSHAPES_LARGE_CLASS_IDS",
    "HARDSHAPES_THIN_CLASS_IDS",
    "HARDSHAPES_SMALL_CLASS_IDS",
    "HARDSHAPES_HEIGHT",
    "HARDSHAPES_WIDTH",
    "HARDSHAPES_SPLIT_SIZES",
    "HARDSHAPES_DOMAINS",
    "HARDSHAPES_GENERATOR_VERSION",
    "HARDSHAPES_PROFILES",
    "hardshapes_dir_name",
    "render_hardshapes_sample",
    "generate_hardshapes",
    "ensure_hardshapes",
]

# ------------------------------------------------------------------------------------------------
# Constants
# ------------------------------------------------------------------------------------------------
HARDSHAPES_CLASSES = ["sky", "ground", "building", "pole", "wire", "crack", "stone"]
# Distinct colours used to visualise labels (not the rendering palette).
HARDSHAPES_COLORS = [
    [70, 130, 180],  # sky
    [128, 64, 128],  # ground
    [70, 70, 70],  # building
    [250, 170, 30],  # pole
    [0, 255, 255],  # wire
    [255, 0, 0],  # crack
    [0, 200, 0],  # stone
]
HARDSHAPES_IGNORE_LABEL = 255
HARDSHAPES_CLASS_KINDS = {
    "sky": "large",
    "ground": "large",
    "building": "large",
    "pole": "thin",
    "wire": "thin",
    "crack": "thin",
    "stone": "small",
}
HARDSHAPES_LARGE_CLASSES = tuple(
    c for c in HARDSHAPES_CLASSES if HARDSHAPES_CLASS_KINDS[c] == "large"
)
HARDSHAPES_THIN_CLASSES = tuple(
    c for c in HARDSHAPES_CLASSES if HARDSHAPES_CLASS_KINDS[c] == "thin"
)
HARDSHAPES_SMALL_CLASSES = tuple(
    c for c in HARDSHAPES_CLASSES if HARDSHAPES_CLASS_KINDS[c] == "small"
)
HARDSHAPES_LARGE_CLASS_IDS = tuple(HARDSHAPES_CLASSES.index(c) for c in HARDSHAPES_LARGE_CLASSES)
HARDSHAPES_THIN_CLASS_IDS = tuple(HARDSHAPES_CLASSES.index(c) for c in HARDSHAPES_THIN_CLASSES)
HARDSHAPES_SMALL_CLASS_IDS = tuple(HARDSHAPES_CLASSES.index(c) for c in HARDSHAPES_SMALL_CLASSES)

HARDSHAPES_HEIGHT = 128
HARDSHAPES_WIDTH = 128
HARDSHAPES_SPLIT_SIZES = {"train": 400, "val": 80}
# domain -> directory name under the root
HARDSHAPES_DOMAINS = {"source": "hardshapes", "shifted": "hardshapes_shifted"}
# Bump whenever the rendered pixels change; a copy with another version is regenerated.
HARDSHAPES_GENERATOR_VERSION = 1

# Rendering profiles: the geometry and contrast of the thin and small classes. "standard" is the
# dataset described above (the demo and the tests). "evidence" (bench/evidence.py) draws the same
# scenes from the same random streams with thicker, higher-contrast thin structures and larger,
# brighter stones, so that a small model learns every class within a CPU budget and a method's
# effect on the hard classes can be measured (docs/evidence.md). Each entry: (low, high) ranges of
# uniform draws, integer ranges as numpy's ``integers`` (high exclusive), and (values, probs) of
# choices.
HARDSHAPES_PROFILES = {
    "standard": {
        "pole_width": (2, 4),
        "wire_thickness": ((1, 2), (0.7, 0.3)),
        "wire_alpha": (0.45, 0.7),
        "crack_thickness": ((1, 2), (0.65, 0.35)),
        "crack_darkness": (0.58, 0.75),
        "crack_segments": (5, 13),
        "crack_counts": (0, 1, 2, 3),
        "stone_radius": (2, 6),
        "stone_brightness": (1.0, 1.3),
    },
    "evidence": {
        "pole_width": (3, 6),
        "wire_thickness": ((2, 3), (0.6, 0.4)),
        "wire_alpha": (0.8, 0.95),
        "crack_thickness": ((3, 4), (0.6, 0.4)),
        "crack_darkness": (0.2, 0.35),
        "crack_segments": (10, 20),
        "crack_counts": (2, 3, 4, 5),
        "stone_radius": (3, 8),
        "stone_brightness": (1.5, 1.8),
    },
}


def _profile(profile: str) -> Dict[str, tuple]:
    """The :data:`HARDSHAPES_PROFILES` entry, or a ValueError naming the known ones."""
    if profile not in HARDSHAPES_PROFILES:
        raise ValueError(
            f"Unknown hardshapes profile {profile!r}; expected one of {list(HARDSHAPES_PROFILES)}"
        )
    return HARDSHAPES_PROFILES[profile]


def hardshapes_dir_name(domain: str, profile: str = "standard") -> str:
    """Directory (under the dataset root) of one domain of one profile: ``hardshapes``,
    ``hardshapes_shifted``, ``hardshapes_evidence``, ``hardshapes_evidence_shifted``."""
    _profile(profile)
    name = HARDSHAPES_DOMAINS[domain]
    return name if profile == "standard" else name.replace("hardshapes", f"hardshapes_{profile}")


SKY, GROUND, BUILDING, POLE, WIRE, CRACK, STONE = range(7)
_IGNORE = HARDSHAPES_IGNORE_LABEL
_MARKER = ".complete"
# Stable integer ids that enter the seed sequences (never reorder).
_DOMAIN_IDS = {"source": 0, "shifted": 1}
_SPLIT_IDS = {"train": 0, "val": 1, "test": 2}


# ------------------------------------------------------------------------------------------------
# Rendering
# ------------------------------------------------------------------------------------------------
def _u(rng: np.random.Generator, lo, hi) -> np.ndarray:
    """Uniform random RGB triplet, channel-wise between ``lo`` and ``hi``."""
    return rng.uniform(np.asarray(lo, np.float32), np.asarray(hi, np.float32)).astype(np.float32)


def _smooth_noise(
    rng: np.random.Generator, h: int, w: int, cells_y: int, cells_x: int
) -> np.ndarray:
    """Zero-mean, roughly unit-variance band-limited noise: a random grid upsampled bicubically."""
    grid = rng.standard_normal((cells_y, cells_x)).astype(np.float32)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)


def _source_palette(rng: np.random.Generator) -> Dict[str, np.ndarray]:
    return {
        "sky_top": _u(rng, (40, 90, 170), (90, 140, 230)),
        "sky_horizon": _u(rng, (150, 180, 205), (200, 220, 245)),
        "ground": _u(rng, (95, 85, 55), (140, 125, 90)),
        "building": _u(rng, (115, 105, 95), (185, 170, 155)),
        "window": _u(rng, (45, 50, 60), (85, 90, 105)),
        "pole": _u(rng, (85, 80, 75), (125, 115, 105)),
        "wire": _u(rng, (25, 25, 30), (50, 50, 55)),
        "ego": _u(rng, (20, 20, 25), (45, 45, 55)),
    }


def _shifted_palette(rng: np.random.Generator) -> Dict[str, np.ndarray]:
    return {
        "sky_top": _u(rng, (70, 40, 100), (120, 80, 150)),
        "sky_horizon": _u(rng, (220, 130, 70), (255, 180, 120)),
        "ground": _u(rng, (60, 70, 90), (95, 105, 130)),
        "building": _u(rng, (45, 40, 50), (90, 80, 95)),
        "window": _u(rng, (180, 150, 70), (240, 210, 120)),
        "pole": _u(rng, (140, 135, 140), (185, 180, 185)),
        "wire": _u(rng, (15, 10, 25), (40, 30, 50)),
        "ego": _u(rng, (60, 15, 15), (110, 35, 30)),
    }


# Per-domain style: palette sampler and texture / degradation parameters.
_STYLES = {
    "source": {
        "palette": _source_palette,
        "ground_streaks": False,
        "window_bands": False,
        "clouds": 0.0,
        "blur_sigma": (0.0, 0.0),
        "noise_std": (3.0, 6.0),
    },
    "shifted": {
        "palette": _shifted_palette,
        "ground_streaks": True,
        "window_bands": True,
        "clouds": 0.12,
        "blur_sigma": (0.7, 1.2),
        "noise_std": (9.0, 14.0),
    },
}


def _paint(
    img: np.ndarray, lbl: np.ndarray, mask: np.ndarray, colour: np.ndarray, cls: int
) -> None:
    """Write ``colour`` (an RGB triplet, or an (N, 3) array of colours for the N masked pixels, or
    an HxWx3 layer) and ``cls`` where ``mask`` is set. ``img``/``lbl`` may be views (crops)."""
    if colour.ndim == 3:
        img[mask] = colour[mask]
    else:
        img[mask] = colour
    lbl[mask] = cls


def _draw_polyline(h: int, w: int, pts: np.ndarray, thickness: int) -> np.ndarray:
    """Mask of a 1 px polyline; ``thickness=t`` adds copies shifted by 1 .. t-1 pixels (down, or
    right for steep segments), so the line is exactly t px thick (cv2's thickness=2 draws ~3 px)."""
    m = np.zeros((h, w), np.uint8)
    p = np.round(pts).astype(np.int32)
    cv2.polylines(m, [p.reshape(-1, 1, 2)], False, 1, 1, cv2.LINE_8)
    if thickness >= 2:
        d = np.abs(np.diff(p, axis=0)).sum(0)
        shift = (0, 1) if d[0] >= d[1] else (1, 0)  # mostly horizontal -> shift down
        for k in range(1, thickness):
            cv2.polylines(
                m, [(p + k * np.array(shift, np.int32)).reshape(-1, 1, 2)], False, 1, 1, cv2.LINE_8
            )
    return m.view(bool)


def render_hardshapes_sample(
    domain: str,
    split: str,
    index: int,
    seed: int = 0,
    height: int = HARDSHAPES_HEIGHT,
    width: int = HARDSHAPES_WIDTH,
    profile: str = "standard",
) -> Tuple[np.ndarray, np.ndarray]:
    """Render one sample. Pure function of its arguments. ``profile``: a key of
    :data:`HARDSHAPES_PROFILES` (the profiles share the random stream: same scenes).

    Returns:
        image: (H, W, 3) uint8 RGB; label: (H, W) uint8 with class ids and 255 = ignore.
    """
    if domain not in _STYLES:
        raise ValueError(f"Unknown hardshapes domain {domain!r}; expected one of {list(_STYLES)}")
    if split not in _SPLIT_IDS:
        raise ValueError(f"Unknown hardshapes split {split!r}; expected one of {list(_SPLIT_IDS)}")
    style = _STYLES[domain]
    prof = _profile(profile)
    rng = np.random.default_rng([int(seed), _DOMAIN_IDS[domain], _SPLIT_IDS[split], int(index)])
    h, w = height, width
    pal = style["palette"](rng)
    ys = np.arange(h, dtype=np.float32)[:, None]  # (h, 1)
    xs = np.arange(w, dtype=np.float32)[None, :]  # (1, w)

    # --- horizon: sky above, ground below ------------------------------------------------------
    y0 = rng.uniform(0.35 * h, 0.58 * h)
    amp, period, phase = (
        rng.uniform(0.0, 0.04 * h),
        rng.uniform(0.5 * w, 1.5 * w),
        rng.uniform(0, 2 * math.pi),
    )
    horizon = y0 + amp * np.sin(2 * math.pi * xs[0] / period + phase)
    ground_mask = ys >= horizon[None, :]

    t = np.clip(ys / max(float(horizon.max()), 1.0), 0.0, 1.0)[..., None]  # (h, 1, 1)
    sky = pal["sky_top"] * (1 - t) + pal["sky_horizon"] * t  # (h, 1, 3)
    if style["clouds"] > 0:
        clouds = np.clip(_smooth_noise(rng, h, w, 5, 3), 0, None)[..., None]
        sky = sky + style["clouds"] * 255.0 * clouds * (1 - t)
    sky = np.broadcast_to(sky, (h, w, 3))

    if style["ground_streaks"]:
        tex = 0.14 * _smooth_noise(rng, h, w, 24, 3) + 0.06 * rng.standard_normal(
            (h, w), dtype=np.float32
        )
    else:
        tex = 0.12 * _smooth_noise(rng, h, w, 6, 6) + 0.08 * _smooth_noise(rng, h, w, 24, 24)
    # brighter towards the bottom: keeps a weak vertical cue
    tex = (1.0 + tex) * (0.9 + 0.2 * np.clip((ys - y0) / max(h - y0, 1.0), 0, 1))
    ground = pal["ground"] * tex[..., None]
    img = np.where(ground_mask[..., None], ground, sky).astype(np.float32)
    lbl = np.where(ground_mask, np.uint8(GROUND), np.uint8(SKY))

    # --- buildings: rectangles standing on the horizon, with windows ---------------------------
    n_buildings = int(rng.choice([1, 2, 3], p=[0.35, 0.4, 0.25]))
    for _ in range(n_buildings):
        bw = int(rng.integers(14, 41))
        x0 = int(rng.integers(-bw // 3, w - 2 * bw // 3))
        x1 = min(x0 + bw, w)
        x0 = max(x0, 0)
        if x1 - x0 < 6:
            continue
        base = min(int(math.ceil(float(horizon[x0:x1].max()))) + 1, h)
        top = max(int(base - rng.integers(12, max(13, min(50, int(y0) - 2)))), 1)
        bh, bwid = base - top, x1 - x0
        by, bx = np.arange(bh)[:, None], np.arange(bwid)[None, :]
        cell_y, cell_x = int(rng.integers(5, 8)), int(rng.integers(5, 8))
        win_h, win_w = int(rng.integers(2, cell_y - 1)), int(rng.integers(2, cell_x - 1))
        ry, rx = (by - 2) % cell_y, (bx - 2) % cell_x
        windows = (ry < win_h) if style["window_bands"] else ((ry < win_h) & (rx < win_w))
        windows = windows & (by >= 2) & (by < bh - 2) & (bx >= 2) & (bx < bwid - 2)
        lit = rng.random((bh // cell_y + 1, bwid // cell_x + 1)) < rng.uniform(0.0, 0.35)
        lit = lit[(by - 2) // cell_y, (bx - 2) // cell_x]
        window_colour = pal["window"] * (1 + 0.6 * lit.astype(np.float32))[..., None]
        facade = np.broadcast_to(pal["building"] * rng.uniform(0.85, 1.15), (bh, bwid, 3))
        layer = np.where(windows[..., None], window_colour, facade)
        side = rng.choice([-1.0, 1.0])
        layer = layer * (1.0 - 0.12 * side * bx / bwid)[..., None]  # facade shading
        img[top:base, x0:x1] = layer
        lbl[top:base, x0:x1] = BUILDING

    # --- poles: thin vertical bars from the ground up into the sky -----------------------------
    n_poles = int(rng.choice([0, 1, 2, 3], p=[0.08, 0.32, 0.4, 0.2]))
    pole_xs: List[int] = []
    for _ in range(20):
        if len(pole_xs) >= n_poles:
            break
        x = int(rng.integers(4, w - 6))
        if all(abs(x - px) >= 14 for px in pole_xs):
            pole_xs.append(x)
    pole_xs.sort()
    pole_tops: List[Tuple[float, float]] = []
    for x in pole_xs:
        pw = int(rng.integers(*prof["pole_width"]))
        bottom = min(int(horizon[x]) + int(rng.integers(4, 26)), h - 1)
        top = int(rng.integers(3, max(4, int(y0) - 8)))
        colour = pal["pole"] * rng.uniform(0.9, 1.1)
        img[top:bottom, x : x + pw] = colour
        img[top:bottom, x] *= 1.18  # lit edge
        lbl[top:bottom, x : x + pw] = POLE
        pole_tops.append((x + pw // 2, top + 1))

    # --- wires: sagging curves between poles, or across the sky --------------------------------
    spans: List[Tuple[Tuple[float, float], Tuple[float, float]]] = []
    for (xa, ya), (xb, yb) in zip(pole_tops[:-1], pole_tops[1:]):
        spans.append(((xa, ya), (xb, yb)))
    if pole_tops and rng.random() < 0.6:  # a wire leaving the image from a pole
        xa, ya = pole_tops[rng.integers(len(pole_tops))]
        edge = -2.0 if rng.random() < 0.5 else w + 1.0
        spans.append(((xa, ya), (edge, ya + rng.uniform(-6, 6))))
    if not spans or rng.random() < 0.3:  # a free wire across the sky
        ya, yb = rng.uniform(3, max(4.0, y0 - 10), size=2)
        spans.append(((-2.0, ya), (w + 1.0, yb)))
    n_parallel = int(rng.choice([1, 2], p=[0.6, 0.4]))
    s = np.linspace(0.0, 1.0, 40, dtype=np.float32)
    for (xa, ya), (xb, yb) in spans:
        for k in range(n_parallel):
            sag = rng.uniform(2, 3 + 0.1 * abs(xb - xa))
            pts = np.stack(
                [xa + (xb - xa) * s, ya + (yb - ya) * s + sag * 4 * s * (1 - s) + 5 * k], 1
            )
            values, probs = prof["wire_thickness"]
            m = _draw_polyline(h, w, pts, int(rng.choice(list(values), p=list(probs))))
            m &= (lbl == SKY) | (lbl == BUILDING) | (lbl == WIRE)
            alpha = rng.uniform(*prof["wire_alpha"])
            _paint(img, lbl, m, img[m] * (1 - alpha) + pal["wire"] * alpha, WIRE)

    # --- cracks: jagged polylines on the ground, a darker copy of it ---------------------------
    gy, gx = np.nonzero(lbl == GROUND)
    n_cracks = (
        int(rng.choice(list(prof["crack_counts"]), p=[0.07, 0.38, 0.35, 0.2])) if len(gy) else 0
    )
    for _ in range(n_cracks):
        j = int(rng.integers(len(gy)))
        p = np.array([gx[j], gy[j]], np.float32)
        heading = rng.uniform(-0.6, 0.6) + (math.pi if rng.random() < 0.5 else 0.0)
        pts = [p.copy()]
        for _ in range(int(rng.integers(*prof["crack_segments"]))):
            heading += rng.uniform(-0.9, 0.9)
            step = rng.uniform(3, 7)
            p = p + step * np.array([math.cos(heading), 0.6 * math.sin(heading)], np.float32)
            pts.append(p.copy())
        values, probs = prof["crack_thickness"]
        m = _draw_polyline(h, w, np.stack(pts), int(rng.choice(list(values), p=list(probs))))
        m &= (lbl == GROUND) | (lbl == CRACK)
        _paint(img, lbl, m, img[m] * rng.uniform(*prof["crack_darkness"]), CRACK)

    # --- stones: small shaded discs on the ground, optionally with an ignore rim ---------------
    with_rims = rng.random() < 0.5
    n_stones = int(rng.integers(2, 7))
    stones: List[Tuple[float, float, int]] = []
    for _ in range(60):
        if len(stones) >= n_stones:
            break
        r = int(rng.integers(*prof["stone_radius"]))
        cx = float(rng.uniform(r, w - 1 - r))
        y_min = float(horizon[min(max(int(cx), 0), w - 1)]) + r + 3
        if y_min > h - 1 - r:
            continue
        cy = float(rng.uniform(y_min, h - 1 - r))
        if all(math.hypot(cx - sx, cy - sy) >= r + sr + 4 for sx, sy, sr in stones):
            stones.append((cx, cy, r))
    for cx, cy, r in stones:
        # work in a crop around the stone (the stone is at least r from the image border)
        ox, oy = max(int(round(cx)) - r - 2, 0), max(int(round(cy)) - r - 2, 0)
        crop = (slice(oy, min(oy + 2 * r + 5, h)), slice(ox, min(ox + 2 * r + 5, w)))
        cimg, clbl = img[crop], lbl[crop]
        ch, cw = clbl.shape
        centre = (int(round(cx)) - ox, int(round(cy)) - oy)
        disc = np.zeros((ch, cw), np.uint8)
        cv2.circle(disc, centre, r, 1, -1, cv2.LINE_8)
        disc = disc.view(bool) & (clbl != POLE)
        cyy, cxx = np.mgrid[0:ch, 0:cw].astype(np.float32)
        dist = np.sqrt((cxx + ox - cx + 0.4 * r) ** 2 + (cyy + oy - cy + 0.4 * r) ** 2) / (1.6 * r)
        shade = (1.45 - 0.6 * np.clip(dist, 0, 1))[..., None]  # lit top-left, dark bottom-right
        brightness = rng.uniform(*prof["stone_brightness"])
        layer = cimg * 0.35 + pal["ground"] * 0.65 * brightness * shade
        if with_rims:
            rim = np.zeros((ch, cw), np.uint8)
            cv2.circle(rim, centre, r + 1, 1, -1, cv2.LINE_8)
            rim = rim.view(bool) & ~disc & ((clbl == GROUND) | (clbl == CRACK))
            _paint(cimg, clbl, rim, 0.5 * cimg + 0.5 * layer, _IGNORE)
        _paint(cimg, clbl, disc, layer, STONE)

    # --- ego-vehicle band at the bottom (ignore) -----------------------------------------------
    if rng.random() < 0.3:
        band = rng.uniform(8, 17)
        curve = rng.uniform(2, 7)
        top_edge = (h - band) + curve * ((xs - w / 2) / (w / 2)) ** 2  # (1, w)
        y_start = max(int(h - band), 0)
        sub_y = ys[y_start:]
        m = sub_y >= top_edge
        layer = (
            pal["ego"] * (1.0 + 0.5 * np.exp(-(((sub_y - top_edge) - 2.0) ** 2) / 4.0))[..., None]
        )
        _paint(img[y_start:], lbl[y_start:], m, layer, _IGNORE)

    # --- degradations --------------------------------------------------------------------------
    lo, hi = style["blur_sigma"]
    if hi > 0:
        img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(lo, hi)))
    img += rng.standard_normal(img.shape, dtype=np.float32) * np.float32(
        rng.uniform(*style["noise_std"])
    )
    img = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return img, lbl


# ------------------------------------------------------------------------------------------------
# Writing to disk
# ------------------------------------------------------------------------------------------------
def _marker_text(
    domain: str,
    seed: int,
    split_sizes: Dict[str, int],
    image_size: Tuple[int, int],
    profile: str = "standard",
) -> str:
    splits = ",".join(f"{k}:{v}" for k, v in sorted(split_sizes.items()))
    text = (
        f"hardshapes generator v{HARDSHAPES_GENERATOR_VERSION}\n"
        f"domain={domain}\nseed={int(seed)}\nsize={image_size[0]}x{image_size[1]}\nsplits={splits}\n"
    )
    return text if profile == "standard" else text + f"profile={profile}\n"


def generate_hardshapes(
    out_dir,
    domain: str = "source",
    seed: int = 0,
    split_sizes: Optional[Dict[str, int]] = None,
    image_size: Tuple[int, int] = (HARDSHAPES_HEIGHT, HARDSHAPES_WIDTH),
    profile: str = "standard",
) -> Path:
    """Render all splits of one domain into ``out_dir`` (``images/<split>``, ``labels/<split>``).

    Writes directly (not atomically) and writes no marker; use :func:`ensure_hardshapes` for the
    cached, atomic, multi-process-safe version.

    Args:
        split_sizes: ``{split: number of images}``; default ``HARDSHAPES_SPLIT_SIZES``.
        image_size: (height, width).
    """
    split_sizes = dict(HARDSHAPES_SPLIT_SIZES if split_sizes is None else split_sizes)
    out_dir = Path(out_dir)
    height, width = image_size

    def write_one(split: str, i: int) -> None:
        img, lbl = render_hardshapes_sample(domain, split, i, seed, height, width, profile)
        # Low zlib level: the images are noisy anyway, and level 1 halves the writing time.
        Image.fromarray(img).save(out_dir / "images" / split / f"{i:05d}.png", compress_level=1)
        Image.fromarray(lbl).save(out_dir / "labels" / split / f"{i:05d}.png", compress_level=1)

    jobs = []
    for split, n in split_sizes.items():
        (out_dir / "images" / split).mkdir(parents=True, exist_ok=True)
        (out_dir / "labels" / split).mkdir(parents=True, exist_ok=True)
        jobs.extend((split, i) for i in range(n))
    # Each sample has its own RNG, so the order (and threading) does not change the output.
    # numpy, OpenCV and zlib release the GIL for much of the work; a few threads give ~1.5x.
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        for _ in pool.map(lambda job: write_one(*job), jobs):
            pass
    return out_dir


def _read_marker(directory: Path) -> Optional[str]:
    try:
        return (directory / _MARKER).read_text()
    except (FileNotFoundError, NotADirectoryError):
        return None


def ensure_hardshapes(
    root,
    domain: str = "source",
    seed: int = 0,
    *,
    split_sizes: Optional[Dict[str, int]] = None,
    image_size: Tuple[int, int] = (HARDSHAPES_HEIGHT, HARDSHAPES_WIDTH),
    profile: str = "standard",
) -> Path:
    """Make sure ``<root>/<hardshapes_dir_name(domain, profile)>`` holds a complete copy; return
    that directory.

    Does nothing if the directory's marker matches (generator version, domain, seed, sizes).
    Otherwise renders into a temporary sibling directory, writes the marker, and renames it into
    place. Safe against several processes calling it at once: the first rename wins, the others
    discard their copy and use the winner's. A copy with a different marker (older generator
    version, other seed) is moved aside and deleted.
    """
    if domain not in HARDSHAPES_DOMAINS:
        raise ValueError(
            f"Unknown hardshapes domain {domain!r}; expected one of {list(HARDSHAPES_DOMAINS)}"
        )
    split_sizes = dict(HARDSHAPES_SPLIT_SIZES if split_sizes is None else split_sizes)
    root = Path(root)
    target = root / hardshapes_dir_name(domain, profile)
    expected = _marker_text(domain, seed, split_sizes, tuple(image_size), profile)
    if _read_marker(target) == expected:
        return target

    root.mkdir(parents=True, exist_ok=True)
    token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp = root / f".{target.name}.tmp-{token}"
    start = time.perf_counter()
    try:
        generate_hardshapes(tmp, domain, seed, split_sizes, tuple(image_size), profile)
        (tmp / _MARKER).write_text(expected)
        for _ in range(10):
            try:
                os.rename(tmp, target)  # atomic; fails if target exists and is non-empty
                logger.info(
                    "Generated hardshapes ({}): {} images in {} in {:.2f} s (seed={}).".format(
                        domain, sum(split_sizes.values()), target, time.perf_counter() - start, seed
                    )
                )
                return target
            except OSError:
                if not target.exists():
                    raise
            if _read_marker(target) == expected:
                logger.debug("Another process generated %s first; using its copy.", target)
                return target
            # A stale/foreign copy is in the way: move it aside (atomic), then delete it.
            trash = root / f".{target.name}.stale-{token}"
            try:
                os.rename(target, trash)
            except FileNotFoundError:
                continue  # someone else moved it already
            except OSError:
                if target.exists() and _read_marker(target) == expected:
                    return target
                continue
            logger.warning("Replacing stale hardshapes copy at %s (marker did not match).", target)
            shutil.rmtree(trash, ignore_errors=True)
        raise RuntimeError(f"Could not move the generated hardshapes data into place at {target}")
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
