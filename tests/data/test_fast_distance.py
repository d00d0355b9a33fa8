"""The OpenCV distance maps (hardseg/data/targets/distance.py) against SciPy's float64 EDT, the
previous implementation, written out here from its formulas."""

import numpy as np
import pytest
from scipy.ndimage import distance_transform_edt

from hardseg.data.targets import dist_penalty_map, signed_distance_maps
from hardseg.data.targets.distance import edt

# OpenCV's precise mask: exact Euclidean distances in float32 (relative rounding ~1e-7; on a
# 1024x2048 Cityscapes-like map the largest difference to SciPy is 6e-4 px at ~2000 px).
TOL = 1e-4  # absolute, on these maps (distances < 200 px)


def _scipy_signed(label, k):
    out = np.zeros((k,) + label.shape)
    for c in np.unique(label):
        g = label == c
        if c < k and not g.all():
            out[c] = distance_transform_edt(~g) * ~g - (distance_transform_edt(g) - 1) * g
    return out


def _scipy_penalty(label, ignore=255):
    b = np.zeros(label.shape, bool)
    dv, dh = label[1:] != label[:-1], label[:, 1:] != label[:, :-1]
    b[1:] |= dv
    b[:-1] |= dv
    b[:, 1:] |= dh
    b[:, :-1] |= dh
    d = distance_transform_edt(~b)
    out = 1 - d / d.max()
    out[label == ignore] = 0
    return out


def _labels(seed, shape=(97, 131)):
    rng = np.random.default_rng(seed)
    lab = np.zeros(shape, np.uint8)
    for _ in range(6):  # random rectangles and discs of 5 classes, some ignore
        c = rng.choice([1, 2, 3, 4, 255])
        y, x = rng.integers(0, shape[0]), rng.integers(0, shape[1])
        if rng.random() < 0.5:
            lab[y : y + rng.integers(3, 40), x : x + rng.integers(3, 50)] = c
        else:
            yy, xx = np.ogrid[: shape[0], : shape[1]]
            lab[(yy - y) ** 2 + (xx - x) ** 2 < rng.integers(4, 400)] = c
    return lab


@pytest.mark.parametrize("seed", range(4))
def test_opencv_maps_equal_scipy(seed):
    lab = _labels(seed)
    np.testing.assert_allclose(signed_distance_maps(lab, 6), _scipy_signed(lab, 6), atol=TOL)
    np.testing.assert_allclose(dist_penalty_map(lab), _scipy_penalty(lab), atol=TOL)


def test_edt_known_values():
    m = np.ones((5, 7), bool)
    m[0, 0] = False
    np.testing.assert_allclose(edt(m)[4, 6], np.hypot(4, 6), rtol=1e-6)
    np.testing.assert_allclose(edt(m)[3, 4], 5.0, rtol=1e-6)
    assert edt(m)[0, 0] == 0
