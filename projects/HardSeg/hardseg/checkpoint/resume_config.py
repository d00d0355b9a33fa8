"""``--resume`` with a config that differs from the one the run was started with.

detectron2's ``default_setup`` overwrites ``OUTPUT_DIR/config.yaml`` and training appends to
``metrics.json`` before the checkpoint is loaded, so a resume whose model no longer fits the
checkpoint used to damage the run's record and then fail with an optimizer error. This check runs
first: a change of a model key is refused (naming the keys), other changes are reported.
"""

import os

import yaml

__all__ = ["check_resume_config", "config_differences"]

# Keys whose change makes the checkpoint's weights or optimizer state unusable.
_MODEL_PREFIX = "MODEL."
_REFUSED_KEYS = ("SOLVER.OPTIMIZER",)
# Keys that may differ freely (where the weights come from, the device).
_FREE_KEYS = ("MODEL.WEIGHTS", "MODEL.DEVICE", "OUTPUT_DIR")
OVERRIDE_KEY = "SOLVER.RESUME_ALLOW_MODEL_CHANGE"


def _flatten(node, prefix=""):
    out = {}
    for k, v in node.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def config_differences(saved: dict, current: dict):
    """{dotted key: (saved value, current value)} for keys in both with different values."""
    saved, current = _flatten(saved), _flatten(current)
    return {
        k: (saved[k], current[k]) for k in saved.keys() & current.keys() if saved[k] != current[k]
    }


def _is_refused(key: str) -> bool:
    if key in _FREE_KEYS:
        return False
    return key.startswith(_MODEL_PREFIX) or key in _REFUSED_KEYS


def check_resume_config(cfg, args) -> str:
    """With ``args.resume`` (training, not ``--eval-only``) and an existing
    ``OUTPUT_DIR/config.yaml``: raise ValueError if a model key (``MODEL.*`` except ``WEIGHTS`` and
    ``DEVICE``, or ``SOLVER.OPTIMIZER``) differs, unless ``SOLVER.RESUME_ALLOW_MODEL_CHANGE``.
    Call it before ``default_setup``.

    Returns:
        a line describing the allowed differences for the log ("" when there are none).
    """
    if not getattr(args, "resume", False) or getattr(args, "eval_only", False):
        return ""
    path = os.path.join(cfg.OUTPUT_DIR, "config.yaml")
    if not os.path.isfile(path):
        return ""
    with open(path) as f:
        saved = yaml.safe_load(f)
    if not isinstance(saved, dict):
        return ""
    diffs = config_differences(saved, yaml.safe_load(cfg.dump()))

    def text(keys):
        return ", ".join(f"{k}: {diffs[k][0]!r} -> {diffs[k][1]!r}" for k in sorted(keys))

    refused = [k for k in diffs if _is_refused(k)]
    if refused and not cfg.SOLVER.RESUME_ALLOW_MODEL_CHANGE:
        raise ValueError(
            f"--resume: the config differs from the one this run was started with ({path}) in "
            f"model keys: {text(refused)}. The checkpoint's weights and optimizer state would not "
            f"fit; nothing was written. Resume with the saved config (--config-file {path}), start "
            f"the changed run in a new OUTPUT_DIR, or set {OVERRIDE_KEY} True if the change keeps "
            "every parameter shape."
        )
    if not diffs:
        return ""
    return f"--resume with config changes from {path}: {text(diffs)}."
