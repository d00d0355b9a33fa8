"""Loss keys: which losses a per-pixel head sums, with what weights, and each loss's options.

The options of each registered loss live under ``MODEL.SEM_SEG_LOSS.<NAME upper-cased>``; their
keys are the loss class's constructor arguments (upper-cased) and their defaults are the class's
own defaults, read from its signature by :func:`loss_options_node` (one source of truth: change a
default in ``hardseg/modeling/losses`` and the config follows). A ``None`` default becomes the
empty list, which means "not set". What each option does is documented on its class:

* ``CROSS_ENTROPY`` (:class:`PixelCrossEntropy`): CLASS_WEIGHTS, LABEL_SMOOTHING,
  AVG_OVER_ALL_PIXELS (divide by N*H*W, ignored pixels included: mmseg's avg_non_ignore=False).
* ``HARD_PIXEL_MINING`` (detectron2 DeepLab's top-k CE): TOP_K_PERCENT_PIXELS.
* ``OHEM_CROSS_ENTROPY``: THRESH, MIN_KEPT, MIN_KEPT_PER_IMAGE, NORMALIZE ("kept" U2PL /
  "all_pixels" mmseg).
* ``FOCAL``: GAMMA, ALPHA (per class). ``DIST_PENALTY_CROSS_ENTROPY``: SCALE.
* Region losses ``DICE``, ``GENERALIZED_DICE``, ``SOFT_IOU``, ``TVERSKY``, ``FOCAL_TVERSKY``:
  SMOOTH, BATCH (counts over the batch), CLASS_AVG ("present" / "all"), and their own options
  (SQUARED, LOG_LOSS, W_TYPE, FP_WEIGHT, FN_WEIGHT, EXPONENT, POWER).
* ``LOVASZ_SOFTMAX``: CLASSES, PER_IMAGE. ``BOUNDARY``: none. ``GDL_BOUNDARY``: ALPHA0,
  ALPHA_STEP, STEP_ITERS, MIN_GDL_WEIGHT (Kervadec's schedule). ``HAUSDORFF_DT``: ALPHA.
* Compositions ``CE_DICE``, ``COMBO``, ``EXP_LOG``: their term weights and exponents.
"""

import inspect

from detectron2.config import CfgNode as CN


def add_losses_config(cfg):
    """Add ``MODEL.SEM_SEG_HEAD.{LOSSES, LOSS_WEIGHTS}`` and ``MODEL.SEM_SEG_LOSS.*``."""
    # Losses of the per-pixel head, summed with LOSS_WEIGHTS (each times SEM_SEG_HEAD.LOSS_WEIGHT);
    # names from SEM_SEG_LOSS_REGISTRY. Empty: the single loss LOSS_TYPE (key "loss_sem_seg").
    # With one or more names each term is its own key "loss_sem_seg_<name>" (a single name:
    # "loss_sem_seg"). Losses that need distance maps make the mapper compute them.
    cfg.MODEL.SEM_SEG_HEAD.LOSSES = []
    # One weight per entry of LOSSES; empty = all 1.0.
    cfg.MODEL.SEM_SEG_HEAD.LOSS_WEIGHTS = []

    # Options of each loss, one node per registered name (upper-cased), derived from the loss
    # classes (module docstring).
    from ..modeling.losses.build import SEM_SEG_LOSS_REGISTRY  # the models register the losses

    cfg.MODEL.SEM_SEG_LOSS = CN()
    for name, entry in sorted(SEM_SEG_LOSS_REGISTRY):
        target = getattr(entry, "loss_class", None) or entry
        cfg.MODEL.SEM_SEG_LOSS[name.upper()] = loss_options_node(target, name)


def loss_options_node(target, name: str) -> CN:
    """The config node of a loss's options: one key per argument of ``target`` (a class or a
    function) but ``ignore_value``, upper-cased, with the argument's default; ``None`` -> ``[]``
    ("not set") and tuples -> lists.

    Raises:
        ValueError: an argument has no default (a config needs one).
    """
    node = CN()
    for key, param in inspect.signature(target).parameters.items():
        if key in ("self", "ignore_value") or param.kind in (
            param.VAR_POSITIONAL,
            param.VAR_KEYWORD,
        ):
            continue
        if param.default is param.empty:
            raise ValueError(
                f"loss {name!r}: argument {key!r} of {getattr(target, '__name__', target)} has no "
                "default; give it one so MODEL.SEM_SEG_LOSS can hold it."
            )
        value = param.default
        node[key.upper()] = (
            [] if value is None else list(value) if isinstance(value, tuple) else value
        )
    return node


def loss_names_from_config(cfg) -> list:
    """The registered names of the head's losses: ``MODEL.SEM_SEG_HEAD.LOSSES`` if it is not
    empty, otherwise ``[LOSS_TYPE]``."""
    head = cfg.MODEL.SEM_SEG_HEAD
    return list(head.get("LOSSES", []) or []) or [head.LOSS_TYPE]
