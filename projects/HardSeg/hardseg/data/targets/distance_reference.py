"""The previous distance maps (before OpenCV), from SciPy's float64 Euclidean distance transform:
the reference of the maps of distance.py (tests/data/test_fast_distance.py) and of their cost
(bench/mapper_cost.py). Not used in training."""

import numpy as np
from scipy.ndimage import distance_transform_edt

__all__ = ["scipy_dist_penalty_map", "scipy_signed_distance_maps"]


def scipy_dist_penalty_map(label: np.ndarray, ignore_value: int = 255) -> np.ndarray:
    """:func:`hardseg.data.targets.dist_penalty_map` (H, W) float32 from SciPy's transform:
    ``1 - d / max(d)``, ``d`` the distance to the 4-neighbour label boundary; 0 at ignored pixels
    and everywhere without a boundary."""
    label = np.asarray(label)
    b = np.zeros(label.shape, dtype=bool)
    dv = label[1:, :] != label[:-1, :]
    dh = label[:, 1:] != label[:, :-1]
    b[1:, :] |= dv
    b[:-1, :] |= dv
    b[:, 1:] |= dh
    b[:, :-1] |= dh
    if not b.any():
        return np.zeros(label.shape, dtype=np.float32)
    d = distance_transform_edt(~b)
    dmax = d.max()
    out = np.ones(label.shape) if dmax == 0 else 1.0 - d / dmax
    out[label == ignore_value] = 0
    return out.astype(np.float32)


def scipy_signed_distance_maps(label: np.ndarray, num_classes: int) -> np.ndarray:
    """:func:`hardseg.data.targets.signed_distance_maps` (K, H, W) float32 from SciPy: two
    transforms of the whole map per present class, ``edt(~G) ~G - (edt(G) - 1) G``."""
    label = np.asarray(label)
    out = np.zeros((num_classes,) + label.shape, dtype=np.float32)
    for c in np.unique(label):
        if not 0 <= c < num_classes:
            continue
        g = label == c
        if g.all():
            continue
        out[c] = distance_transform_edt(~g) * ~g - (distance_transform_edt(g) - 1) * g
    return out
