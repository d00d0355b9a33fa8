"""Hard-aware Pseudo-label Augmentation (HPLA): inter-image copy-paste of the hard classes'
pseudo-labelled pixels (docs/methods/hiast.md §5). Pure numpy; the randomness comes from the
``numpy.random.Generator`` the caller passes (seeded per worker and rank by the mapper).
"""

from typing import Dict, List, Sequence, Tuple

import numpy as np

__all__ = ["HPLASampler", "hard_classes", "class_weights", "donor_pool", "paste_hard_pixels"]

IGNORE = 255


def hard_classes(mean_probs: np.ndarray, num_hard: int, candidates: Sequence[int]) -> np.ndarray:
    """The ``num_hard`` classes of ``candidates`` with the smallest mean confidence (ties: lower
    class id first), sorted by class id."""
    candidates = np.asarray(sorted(candidates), dtype=np.int64)
    order = np.argsort(mean_probs[candidates], kind="stable")
    return np.sort(candidates[order[:num_hard]])


def class_weights(mean_probs: np.ndarray, hard: np.ndarray) -> np.ndarray:
    """(K,) class-sampling probabilities: (1 - v_c)^2 on the hard classes, 0 elsewhere,
    normalised to sum 1 (uniform over ``hard`` if every hard class has v_c = 1)."""
    w = np.zeros(len(mean_probs), dtype=np.float64)
    w[hard] = (1.0 - mean_probs[hard]) ** 2
    if w.sum() <= 0:
        w[hard] = 1.0
    return w / w.sum()


def donor_pool(samples: List[Tuple[str, int]], drop_fraction: float) -> List[str]:
    """Names of the images containing a class, without the ``round(n * drop_fraction)`` ones
    with the fewest pixels of it (Python's round, as the official code; ties keep list order)."""
    n_drop = round(len(samples) * drop_fraction)
    ranked = sorted(samples, key=lambda s: s[1])  # stable
    return [name for name, _ in ranked[n_drop:]]


def paste_hard_pixels(
    image: np.ndarray,
    label: np.ndarray,
    donor_image: np.ndarray,
    donor_label: np.ndarray,
    hard: np.ndarray,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Copy every donor pixel whose pseudo-label is a hard class into the recipient at the same
    position (docs/methods/hiast.md §5 step 4).

    Args:
        image, donor_image: (H, W, C) arrays; label, donor_label: (H, W) uint8 (255 = none).
        hard: the hard class ids.
    Returns:
        new image, new label, paste mask (H, W) uint8 (class id where pasted, else 255).
    """
    if donor_label.shape != label.shape or donor_image.shape != image.shape:
        raise ValueError(
            f"HPLA donor of size {donor_label.shape} for a recipient of size {label.shape}; "
            "resize the donor (nearest for its label) before pasting."
        )
    mask = np.isin(donor_label, hard)
    image, label = image.copy(), label.copy()
    image[mask] = donor_image[mask]
    label[mask] = donor_label[mask]
    pasted = np.full(label.shape, IGNORE, dtype=np.uint8)
    pasted[mask] = donor_label[mask]
    return image, label, pasted


class HPLASampler:
    """Draws (class, donor image) pairs from one round's statistics.

    Hard classes H: the ``num_hard`` classes with the smallest mean confidence among those that
    are not ``excluded`` (SYNTHIA: terrain, truck, train) and have at least one donor image. A
    class is drawn with probability proportional to (1 - v_c)^2 over H (excluded classes weigh
    0), then a donor uniformly from :func:`donor_pool` of that class.
    """

    def __init__(
        self,
        mean_probs: np.ndarray,
        samples_with_class: Dict[int, List[Tuple[str, int]]],
        *,
        num_hard: int = 14,
        drop_fraction: float = 0.1,
        excluded: Sequence[int] = (),
    ):
        self.mean_probs = np.asarray(mean_probs, dtype=np.float64)
        self.pools = {
            int(c): donor_pool(list(s), drop_fraction) for c, s in samples_with_class.items()
        }
        candidates = [
            c for c in range(len(self.mean_probs)) if c not in set(excluded) and self.pools.get(c)
        ]
        self.hard = hard_classes(self.mean_probs, num_hard, candidates)
        self.weights = class_weights(self.mean_probs, self.hard) if len(self.hard) else None

    def sample(self, rng: np.random.Generator) -> Tuple[int, str]:
        """(class id, donor image name); raises if no class has a donor."""
        if self.weights is None:
            raise ValueError("HPLA: no class has any pseudo-labelled image to copy from.")
        c = int(rng.choice(len(self.weights), p=self.weights))
        pool = self.pools[c]
        return c, pool[int(rng.integers(len(pool)))]
