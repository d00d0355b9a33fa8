"""Instance Adaptive Selector (IAS): per-class confidence thresholds updated batch by batch,
and the per-round statistics that HPLA reads (docs/methods/hiast.md §4).

Pure numpy: :class:`IASThresholds` sees one batch of (confidence, argmax) maps at a time, in the
order of the labelling pass, and returns the pseudo-labels of that batch.
"""

from typing import Dict, List, Optional, Tuple

import numpy as np

__all__ = ["IASThresholds", "ias_batch_thresholds"]

IGNORE = 255


def ias_batch_thresholds(
    conf: np.ndarray, pred: np.ndarray, theta: np.ndarray, alpha: float, gamma: float
) -> np.ndarray:
    """The per-batch ("instance") thresholds psi (K,) of docs/methods/hiast.md §4 step 2.

    For each class c, the values are theta[c] followed by the float16-rounded confidences of the
    pixels predicted as c; psi[c] is their linear-interpolation quantile at 1 - alpha *
    theta[c] ** gamma. theta[c] is always among the values, so a class absent from the batch
    gets psi[c] = theta[c] (up to the float32 storage of psi).

    Args:
        conf, pred: max softmax probability and its class of every pixel of the batch.
        theta: (K,) running thresholds before this batch.
    """
    psi = np.ones(len(theta), dtype=np.float32)
    for c in range(len(theta)):
        values = np.concatenate(
            [np.asarray([theta[c]], dtype=np.float64), conf[pred == c].astype(np.float16)]
        )
        psi[c] = np.quantile(values, 1.0 - alpha * theta[c] ** gamma)
    return psi


class IASThresholds:
    """Running IAS state over one labelling pass (docs/methods/hiast.md §4).

    Per batch: psi = :func:`ias_batch_thresholds` with the thresholds before the batch; theta <-
    beta * theta + (1 - beta) * psi; any theta >= 1 is reset to ``clip``; the batch is then
    labelled with the updated theta (pixels below theta[argmax] -> 255). Statistics kept:
    ``pixel_counts`` (K,) pseudo-labelled pixels per class; ``class_mean_probs`` (K,) mean
    confidence of kept pixels, set at the first batch where the class has kept pixels and
    afterwards v <- m * v + (1 - m) * batch mean; ``samples_with_class`` {c: [(name, pixels)]}.
    """

    def __init__(
        self,
        num_classes: int,
        *,
        init_threshold: float = 0.9,
        alpha: float = 0.5,
        beta: float = 0.9,
        gamma: float = 8.0,
        clip: float = 0.999,
        mean_momentum: float = 0.99,
    ):
        self.theta = np.full(num_classes, init_threshold, dtype=np.float64)
        self.alpha, self.beta, self.gamma, self.clip = alpha, beta, gamma, clip
        self.mean_momentum = mean_momentum
        self.pixel_counts = np.zeros(num_classes, dtype=np.int64)
        self.class_mean_probs = np.zeros(num_classes, dtype=np.float64)
        self._mean_set = np.zeros(num_classes, dtype=bool)
        self.samples_with_class: Dict[int, List[Tuple[str, int]]] = {
            c: [] for c in range(num_classes)
        }

    @property
    def num_classes(self) -> int:
        return len(self.theta)

    def update(self, conf: np.ndarray, pred: np.ndarray) -> np.ndarray:
        """Update theta with one batch and return its thresholds-after-update.

        Args:
            conf, pred: float max probability and int argmax class of the batch's pixels (any
                shape, the same for both).
        """
        psi = ias_batch_thresholds(conf, pred, self.theta, self.alpha, self.gamma)
        self.theta = self.beta * self.theta + (1.0 - self.beta) * psi
        self.theta[self.theta >= 1.0] = self.clip
        return self.theta.copy()

    def label(self, confs, preds, names: Optional[List[str]] = None) -> List[np.ndarray]:
        """One batch of images (sizes may differ): :meth:`update` with all their pixels, then
        each image's uint8 pseudo-label (255 where ``conf < theta[pred]``), and the statistics
        updated with the batch.

        Args:
            confs, preds: sequences of (H_i, W_i) maps (or (N, H, W) arrays).
            names: the images' names, for ``samples_with_class``.
        """
        confs = [np.asarray(c) for c in confs]
        preds = [np.asarray(p).astype(np.int64) for p in preds]
        theta = self.update(
            np.concatenate([c.ravel() for c in confs]), np.concatenate([p.ravel() for p in preds])
        )
        labels = []
        for conf, pred in zip(confs, preds):
            label = pred.copy()
            label[conf < theta[pred]] = IGNORE
            labels.append(label)
        self._update_stats(confs, labels, names)
        return [label.astype(np.uint8) for label in labels]

    def _update_stats(self, confs, labels, names) -> None:
        m = self.mean_momentum
        conf = np.concatenate([c.ravel() for c in confs])
        flat = np.concatenate([lab.ravel() for lab in labels])
        for c in range(self.num_classes):
            kept = flat == c
            n = int(kept.sum())
            self.pixel_counts[c] += n
            if n == 0:
                continue
            mean = float(conf[kept].astype(np.float64).mean())
            if self._mean_set[c]:
                self.class_mean_probs[c] = m * self.class_mean_probs[c] + (1.0 - m) * mean
            else:
                self.class_mean_probs[c] = mean
                self._mean_set[c] = True
        if names is not None:
            for name, lab in zip(names, labels):
                counts = np.bincount(lab[lab != IGNORE].ravel(), minlength=self.num_classes)
                for c in np.nonzero(counts)[0]:
                    self.samples_with_class[int(c)].append((name, int(counts[c])))
