"""Small helpers shared by HardSeg's own per-pixel heads (PSPNet, FCN)."""

from torch import nn

from ..losses import loss_spec_from_config
from ..shape_spec import as_shape_specs  # noqa: F401  (re-exported for the heads)

HEAD_NODES = ("SEM_SEG_HEAD", "AUX_HEAD")


def head_args_from_config(cfg, input_shape, head_name: str, node: str = "SEM_SEG_HEAD") -> dict:
    """The ``from_config`` arguments PSPNetHead and FCNHead share.

    ``node`` "SEM_SEG_HEAD": the decode head, every key from ``MODEL.SEM_SEG_HEAD`` and its
    losses from :func:`loss_spec_from_config`. ``node`` "AUX_HEAD": the auxiliary head, with
    ``IN_FEATURES``, ``CHANNELS``, ``DROPOUT``, ``LOSS_WEIGHT`` and the single loss
    ``LOSS_TYPE`` (options from ``MODEL.SEM_SEG_LOSS``) from ``MODEL.AUX_HEAD``; the class count,
    norm, ignore value, align_corners and classifier init are the decode head's.
    """
    if node not in HEAD_NODES:
        raise ValueError(f"{head_name} reads MODEL.<node> with node in {HEAD_NODES}, got {node!r}.")
    h, n = cfg.MODEL.SEM_SEG_HEAD, cfg.MODEL[node]
    if len(n.IN_FEATURES) != 1:
        raise ValueError(
            f"{head_name} reads one feature; MODEL.{node}.IN_FEATURES = {n.IN_FEATURES}."
        )
    names = [n.LOSS_TYPE] if node == "AUX_HEAD" else None
    return {
        "input_shape": input_shape,
        "num_classes": h.NUM_CLASSES,
        "in_feature": n.IN_FEATURES[0],
        "channels": n.CHANNELS,
        "dropout": n.DROPOUT,
        "norm": h.NORM,
        "align_corners": h.ALIGN_CORNERS,
        "loss_type": loss_spec_from_config(cfg, names=names),
        "loss_weight": n.LOSS_WEIGHT,
        "ignore_value": h.IGNORE_VALUE,
        "predictor_init_std": h.PREDICTOR_INIT_STD,
    }


def init_predictor(conv: nn.Conv2d, std: float) -> None:
    """mmseg ``BaseDecodeHead`` init of the final 1x1 classifier: weight ~ N(0, std), bias 0."""
    nn.init.normal_(conv.weight, 0.0, std)
    if conv.bias is not None:
        nn.init.constant_(conv.bias, 0.0)
