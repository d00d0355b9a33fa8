"""Distance maps of a label map, the extra targets of the boundary and distance losses.

Computed once per training sample by the data mapper, after augmentation, from the augmented label
(exact Euclidean distances in pixels, OpenCV's float32 ``distanceTransform`` with the precise
mask; it agrees with ``scipy.ndimage.distance_transform_edt`` to float32 rounding and is several
times faster, tests/data/test_fast_distance.py). A loss that needs one
declares it in its ``required_inputs``; the loss registry (``hardseg.modeling.losses``) records
which losses need which maps here (:func:`register_loss_targets`), so the mapper computes only the
maps the configured losses use without importing the models.
"""

from typing import Dict, Iterable, List, Sequence

import cv2
import numpy as np
import torch

from ...config.losses import loss_names_from_config

__all__ = [
    "DISTANCE_MAP_KEYS",
    "DistanceMapTargets",
    "dist_penalty_map",
    "signed_distance_maps",
    "register_loss_targets",
    "targets_for_losses",
]

# Keys of the dataset dict (and of the losses' extra inputs) that hold distance maps.
DISTANCE_MAP_KEYS = ("dist_penalty", "signed_dist")

# loss name -> the distance maps it needs; filled by the loss registry.
_LOSS_TARGETS: Dict[str, tuple] = {}


def register_loss_targets(loss_name: str, keys: Sequence[str]) -> None:
    """Record that the loss registered as ``loss_name`` needs the maps ``keys``."""
    unknown = [k for k in keys if k not in DISTANCE_MAP_KEYS]
    if unknown:
        raise ValueError(
            f"loss {loss_name!r} needs {unknown}, which the data mapper cannot compute; "
            f"expected some of {DISTANCE_MAP_KEYS}."
        )
    _LOSS_TARGETS[loss_name] = tuple(keys)


def targets_for_losses(loss_names: Iterable[str]) -> List[str]:
    """The distance maps the losses ``loss_names`` need, in first-needed order."""
    out = []
    for name in loss_names:
        out += [k for k in _LOSS_TARGETS.get(name, ()) if k not in out]
    return out


def edt(mask: np.ndarray) -> np.ndarray:
    """Euclidean distance (H, W) float32 of every nonzero pixel of ``mask`` to the nearest zero
    pixel (0 on zero pixels), as ``scipy.ndimage.distance_transform_edt``; ``mask`` must hold at
    least one zero pixel."""
    return cv2.distanceTransform(
        np.ascontiguousarray(mask, dtype=np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE
    )


def dist_penalty_map(label: np.ndarray, ignore_value: int = 255) -> np.ndarray:
    """DPCE penalty ``D`` (H, W) float32 in [0, 1] (multi-class form of the distance-penalised CE map).

    ``b`` = boundary pixels (a 4-neighbour has another label; the ignore label counts as a
    label), ``d`` = EDT to the nearest boundary pixel, ``D = 1 - d / max(d)`` (1 on boundaries),
    ``D = 0`` at ignored pixels and everywhere when the map has no boundary.
    """
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
    d = edt(~b)
    dmax = d.max()
    out = np.ones(label.shape, np.float32) if dmax == 0 else 1.0 - d / dmax
    out[label == ignore_value] = 0
    return out.astype(np.float32, copy=False)


def signed_distance_maps(label: np.ndarray, num_classes: int) -> np.ndarray:
    """Signed distance map ``phi_c`` (K, H, W) float32 of each class region ``G_c = [y = c]``
    (ignored pixels are outside every region), boundary-loss convention (Kervadec et al. 2019):
    ``phi = edt(~G) * ~G - (edt(G) - 1) * G``: the distance to the region outside it, and
    ``1 - (distance to the outside)`` inside (0 on the first interior ring, negative deeper).
    ``phi_c = 0`` when class c is absent or fills the whole map.
    """
    label = np.asarray(label)
    out = np.zeros((num_classes,) + label.shape, dtype=np.float32)
    for c in np.unique(label):
        if not 0 <= c < num_classes:
            continue
        g = label == c
        if g.all():
            continue
        # outside G: the distance to G (a transform of the whole map; 0 on G)
        out[c] = edt(~g)
        # inside G: 1 - the distance to the outside, computed on G's bounding box grown by one
        # pixel (clipped to the map): every pixel of that ring is outside G, and for a pixel of G
        # a ring pixel on its row or column is nearer than any outside pixel beyond the ring.
        rows, cols = np.flatnonzero(g.any(1)), np.flatnonzero(g.any(0))
        y0, y1 = max(rows[0] - 1, 0), min(rows[-1] + 2, g.shape[0])
        x0, x1 = max(cols[0] - 1, 0), min(cols[-1] + 2, g.shape[1])
        box = g[y0:y1, x0:x1]
        inside = out[c, y0:y1, x0:x1]
        inside[box] = 1.0 - edt(box)[box]
    return out


class DistanceMapTargets:
    """Target generator: (augmented) label map (H, W) -> ``{key: float16 tensor}`` for the
    configured keys:

    * ``"dist_penalty"``: (H, W) DPCE penalty in [0, 1] (:func:`dist_penalty_map`);
    * ``"signed_dist"``: (K, H, W) signed distance to each class region
      (:func:`signed_distance_maps`; K x H x W x 2 bytes per sample).
    """

    def __init__(self, keys: Sequence[str], num_classes: int, ignore_value: int = 255):
        unknown = [k for k in keys if k not in DISTANCE_MAP_KEYS]
        if unknown:
            raise ValueError(f"unknown distance maps {unknown}; expected {DISTANCE_MAP_KEYS}.")
        self.keys = tuple(keys)
        self.num_classes = num_classes
        self.ignore_value = ignore_value

    @classmethod
    def from_config(cls, cfg) -> "DistanceMapTargets":
        """The maps the losses of ``MODEL.SEM_SEG_HEAD.LOSSES`` (or ``LOSS_TYPE``) need."""
        return cls(
            targets_for_losses(loss_names_from_config(cfg)),
            cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES,
            cfg.MODEL.SEM_SEG_HEAD.IGNORE_VALUE,
        )

    def __call__(self, sem_seg: np.ndarray) -> Dict[str, torch.Tensor]:
        out = {}
        if "dist_penalty" in self.keys:
            d = dist_penalty_map(sem_seg, self.ignore_value)
            out["dist_penalty"] = torch.from_numpy(d.astype(np.float16))
        if "signed_dist" in self.keys:
            phi = signed_distance_maps(sem_seg, self.num_classes)
            out["signed_dist"] = torch.from_numpy(phi.astype(np.float16))
        return out

    def __repr__(self):
        return f"DistanceMapTargets(keys={self.keys})"
