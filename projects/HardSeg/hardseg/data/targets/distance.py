"""Distance maps of a label map, the extra targets of the boundary and distance losses.

Computed once per training sample by the data mapper, after augmentation, from the augmented label
with OpenCV's float32 ``distanceTransform`` (distances in pixels): the signed maps of the boundary
and Hausdorff losses with the exact transform (within 1e-4 px of
``scipy.ndimage.distance_transform_edt``), the DPCE penalty with the 5x5 chamfer transform (within
0.04 of the exact map), tests/data/test_fast_distance.py. The mapper stores them compactly
(:class:`DistanceMapTargets`) and the meta-architectures expand them with
:func:`decode_loss_map`. A loss that needs one
declares it in its ``required_inputs``; the loss registry (``hardseg.modeling.losses``) records
which losses need which maps here (:func:`register_loss_targets`), so the mapper computes only the
maps the configured losses use without importing the models.
"""

from typing import Dict, Iterable, List, NamedTuple, Sequence, Tuple

import cv2
import numpy as np
import torch

from ...config.losses import loss_names_from_config

__all__ = [
    "DISTANCE_MAP_KEYS",
    "ClassMaps",
    "DistanceMapTargets",
    "SIGNED_DIST_STEP",
    "decode_loss_map",
    "dist_penalty_map",
    "packed_signed_distances",
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


def edt(mask: np.ndarray, exact: bool = True) -> np.ndarray:
    """Euclidean distance (H, W) float32 of every nonzero pixel of ``mask`` to the nearest zero
    pixel (0 on zero pixels), as ``scipy.ndimage.distance_transform_edt``; ``mask`` must hold at
    least one zero pixel. ``exact=False`` uses OpenCV's 5x5 chamfer mask instead of the exact
    transform: about 3.5x faster, distances within 2 % (relative) of the exact ones."""
    mask = np.ascontiguousarray(mask, dtype=np.uint8)
    return cv2.distanceTransform(
        mask, cv2.DIST_L2, cv2.DIST_MASK_PRECISE if exact else cv2.DIST_MASK_5
    )


def _cv_label(label: np.ndarray) -> np.ndarray:
    """``label`` (H, W) in a dtype OpenCV's comparisons and morphology take (the same values)."""
    label = np.asarray(label)
    if label.ndim != 2:
        raise ValueError(f"expected a label map (H, W), got shape {label.shape}.")
    if label.dtype in (np.uint8, np.uint16, np.int16, np.float32):
        return np.ascontiguousarray(label)
    return label.astype(np.float32)  # exact for the label values (< 2**24)


# the 4-neighbourhood (with the centre) as an OpenCV structuring element
_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


def dist_penalty_map(label: np.ndarray, ignore_value: int = 255, exact: bool = False) -> np.ndarray:
    """DPCE penalty ``D`` (H, W) float32 in [0, 1] (multi-class form of the distance-penalised CE map).

    ``b`` = boundary pixels (a 4-neighbour has another label; the ignore label counts as a
    label), ``d`` = EDT to the nearest boundary pixel, ``D = 1 - d / max(d)`` (1 on boundaries),
    ``D = 0`` at ignored pixels and everywhere when the map has no boundary.

    ``d`` comes from OpenCV's 5x5 chamfer transform by default (``exact=False``), at about a
    third of the exact transform's cost: its distances are within 2 % of the Euclidean ones, so
    ``D`` is within 0.04 of the exact map (0.024 on a Cityscapes-like 1024x2048 map).
    ``exact=True`` gives the exact Euclidean map (within 1e-4 of SciPy's float64 one).
    tests/data/test_fast_distance.py.
    """
    lab = _cv_label(label)
    # a pixel is off the boundary iff the largest and smallest label of its cross are equal
    off = cv2.compare(cv2.dilate(lab, _CROSS), cv2.erode(lab, _CROSS), cv2.CMP_EQ)
    if cv2.countNonZero(off) == off.size:  # no boundary
        return np.zeros(lab.shape, dtype=np.float32)
    d = edt(off, exact)
    dmax = float(d.max())
    if dmax == 0:
        out = np.ones(lab.shape, np.float32)
    else:
        out = np.subtract(np.float32(dmax), d, out=d)
        out /= np.float32(dmax)  # (dmax - d) / dmax: exactly 1 at d = 0 and 0 at d = dmax
    out[lab == ignore_value] = 0
    return out


def _signed_distance_stack(
    label: np.ndarray, num_classes: int, dtype=np.float32, scale: float = 1.0
) -> Tuple[List[int], np.ndarray]:
    """The classes ``[c_1, ...]`` of ``[0, num_classes)`` present in ``label`` (none when one
    value fills the map) and their maps ``scale * phi_c`` (P, H, W) of :func:`signed_distance_maps`
    in ``dtype`` (rounded for an integer dtype).

    One exact transform per label value v present (every class, the ignore label, ...):
    ``dist_v`` = the distance to ``[y = v]``. Outside ``G_c``, ``phi_c = dist_c``; inside,
    ``phi_c = 1 - edt(G_c) = 1 - min_{v != c} dist_v``, the distance to the nearest pixel of
    another value, so the inside needs no transform of its own.
    """
    lab = _cv_label(label)
    if lab.dtype == np.uint8:
        values = np.flatnonzero(np.bincount(lab.ravel(), minlength=256)).tolist()
    else:
        values = [v.item() for v in np.unique(lab)]
    classes = [int(v) for v in values if 0 <= v < num_classes]
    out = np.zeros((len(classes),) + lab.shape, dtype)
    if len(values) < 2:  # one value fills the map: every phi is 0
        return [], out[:0]
    cv_dtype = cv2.CV_16S if dtype == np.int16 else cv2.CV_32F
    row = {c: i for i, c in enumerate(classes)}
    nearest = np.full(lab.shape, np.inf, np.float32)  # distance to the nearest other value
    for v in values:
        dist = edt(cv2.compare(lab, v, cv2.CMP_NE))  # 0 exactly on [y = v]
        if v in row:  # scale * dist (rounded to int16); the inside is overwritten below
            cv2.multiply(dist, scale, dst=out[row[v]], dtype=cv_dtype)
        # on [y = v] the nearest value is another one: leave ``nearest`` as it is there
        dist[dist == 0] = np.inf
        cv2.min(nearest, dist, dst=nearest)
    # inside G_c: scale * (1 - edt(G_c)), rounded to int16 for int16 maps
    inside = cv2.addWeighted(nearest, -scale, nearest, 0.0, scale, dtype=cv_dtype)
    for c, i in row.items():
        cv2.copyTo(inside, cv2.compare(lab, c, cv2.CMP_EQ), dst=out[i])
    return classes, out


def signed_distance_maps(label: np.ndarray, num_classes: int) -> np.ndarray:
    """Signed distance map ``phi_c`` (K, H, W) float32 of each class region ``G_c = [y = c]``
    (ignored pixels are outside every region), boundary-loss convention (Kervadec et al. 2019):
    ``phi = edt(~G) * ~G - (edt(G) - 1) * G``: the distance to the region outside it, and
    ``1 - (distance to the outside)`` inside (0 on the first interior ring, negative deeper).
    ``phi_c = 0`` when class c is absent or fills the whole map. Exact Euclidean distances (within
    1e-4 px of SciPy's float64 transform on maps up to a few hundred pixels).
    """
    classes, maps = _signed_distance_stack(label, num_classes)
    out = np.zeros((num_classes,) + maps.shape[1:], dtype=np.float32)
    out[classes] = maps
    return out


# ``signed_dist`` is stored in whole multiples of this step (int16) when every distance of the map
# fits (maps with a diagonal under 4095 px), else in float32.
SIGNED_DIST_STEP = 0.125
_INT16_MAX_DIST = 32767 * SIGNED_DIST_STEP - 1


class ClassMaps(NamedTuple):
    """Per-class maps of one sample stored for the present classes only (the mapper's compact
    ``signed_dist``): ``maps[i]`` is the map of class ``classes[i]``; every other class's map is 0.

    Attributes:
        classes: (P,) int64, increasing class indices.
        maps: (P, H, W) int16 in units of ``SIGNED_DIST_STEP`` px, or float32 in px.
        num_classes: K.
    """

    classes: torch.Tensor
    maps: torch.Tensor
    num_classes: int

    def dense(self, device=None) -> torch.Tensor:
        """The (K, H, W) float32 maps on ``device`` (the compact maps are moved first)."""
        maps = self.maps.to(device)
        out = torch.zeros(
            (self.num_classes,) + tuple(maps.shape[1:]), dtype=torch.float32, device=maps.device
        )
        values = maps.float()
        if maps.dtype == torch.int16:
            values = values * SIGNED_DIST_STEP
        out[self.classes.to(maps.device)] = values
        return out


def packed_signed_distances(label: np.ndarray, num_classes: int) -> ClassMaps:
    """:func:`signed_distance_maps` of the present classes as :class:`ClassMaps`, int16 in steps
    of ``SIGNED_DIST_STEP`` px (rounded: within 1/16 px of the exact values) when the map's
    diagonal is under 4095 px, else float32. K x H x W x 2 bytes when every class is present."""
    as_int = float(np.hypot(*np.shape(label))) < _INT16_MAX_DIST
    if as_int:
        classes, maps = _signed_distance_stack(label, num_classes, np.int16, 1 / SIGNED_DIST_STEP)
    else:
        classes, maps = _signed_distance_stack(label, num_classes)
    return ClassMaps(
        torch.as_tensor(classes, dtype=torch.int64), torch.from_numpy(maps), num_classes
    )


def decode_loss_map(value, device=None) -> torch.Tensor:
    """A mapper's distance map as float32 on ``device``: ``dist_penalty`` uint8 (H, W) in steps of
    1/255, ``signed_dist`` :class:`ClassMaps` -> (K, H, W), or a float tensor as it is."""
    if isinstance(value, ClassMaps):
        return value.dense(device)
    if value.dtype == torch.uint8:
        return value.to(device).float() * (1.0 / 255)
    return value.to(device, torch.float32)


class DistanceMapTargets:
    """Target generator: (augmented) label map (H, W) -> the configured maps, stored compactly:

    * ``"dist_penalty"``: (H, W) uint8, the DPCE penalty (:func:`dist_penalty_map`) in steps of
      1/255 (rounded: within 1/510 of it); H x W bytes per sample.
    * ``"signed_dist"``: :class:`ClassMaps` of the signed distance to each present class region
      (:func:`packed_signed_distances`: int16 in 1/8 px, within 1/16 px); P x H x W x 2 bytes for
      P present classes (float32, twice that, for maps with a diagonal of 4095 px or more).

    :func:`decode_loss_map` gives them back as float32 (H, W) and (K, H, W).
    """

    def __init__(
        self,
        keys: Sequence[str],
        num_classes: int,
        ignore_value: int = 255,
        exact_dist_penalty: bool = False,
    ):
        unknown = [k for k in keys if k not in DISTANCE_MAP_KEYS]
        if unknown:
            raise ValueError(f"unknown distance maps {unknown}; expected {DISTANCE_MAP_KEYS}.")
        self.keys = tuple(keys)
        self.num_classes = num_classes
        self.ignore_value = ignore_value
        self.exact_dist_penalty = bool(exact_dist_penalty)

    @classmethod
    def from_config(cls, cfg) -> "DistanceMapTargets":
        """The maps the losses of ``MODEL.SEM_SEG_HEAD.LOSSES`` (or ``LOSS_TYPE``) need; the DPCE
        map's transform from ``INPUT.DIST_PENALTY_EXACT``."""
        return cls(
            targets_for_losses(loss_names_from_config(cfg)),
            cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES,
            cfg.MODEL.SEM_SEG_HEAD.IGNORE_VALUE,
            exact_dist_penalty=cfg.INPUT.DIST_PENALTY_EXACT,
        )

    def __call__(self, sem_seg: np.ndarray) -> Dict[str, object]:
        out = {}
        if "dist_penalty" in self.keys:
            d = dist_penalty_map(sem_seg, self.ignore_value, exact=self.exact_dist_penalty)
            out["dist_penalty"] = torch.from_numpy(cv2.convertScaleAbs(d, alpha=255.0))
        if "signed_dist" in self.keys:
            out["signed_dist"] = packed_signed_distances(sem_seg, self.num_classes)
        return out

    def __repr__(self):
        return f"DistanceMapTargets(keys={self.keys}, exact_dist_penalty={self.exact_dist_penalty})"
