"""Registry of the losses a per-pixel head can be trained with (``MODEL.SEM_SEG_HEAD.LOSS_TYPE``)."""

from detectron2.projects.deeplab.loss import DeepLabCE
from detectron2.utils.registry import Registry

from .cross_entropy import PixelCrossEntropy

SEM_SEG_LOSS_REGISTRY = Registry("SEM_SEG_LOSS")
SEM_SEG_LOSS_REGISTRY.__doc__ = """
Losses for per-pixel heads, by the name used in ``LOSS_TYPE``. An entry is called as ``entry(ignore_value=...)`` and returns a module
``loss(logits (N, K, H, W), targets (N, H, W)) -> scalar``. Losses that have a per-pixel form also
define ``pixel_loss(logits, targets) -> (N, H, W)`` (HL re-weights that map).
"""


@SEM_SEG_LOSS_REGISTRY.register()
def cross_entropy(ignore_value):
    return PixelCrossEntropy(ignore_value=ignore_value)


@SEM_SEG_LOSS_REGISTRY.register()
def hard_pixel_mining(ignore_value):
    # DeepLab's online bootstrapping: the top 20% hardest pixels (detectron2.projects.deeplab).
    return DeepLabCE(ignore_label=ignore_value, top_k_percent_pixels=0.2)


def build_sem_seg_loss(loss_type: str, ignore_value: int):
    if loss_type not in SEM_SEG_LOSS_REGISTRY:
        raise ValueError(
            f"MODEL.SEM_SEG_HEAD.LOSS_TYPE={loss_type!r} is not a registered loss; "
            f"choose one of {sorted(k for k, _ in SEM_SEG_LOSS_REGISTRY)}."
        )
    return SEM_SEG_LOSS_REGISTRY.get(loss_type)(ignore_value=ignore_value)
