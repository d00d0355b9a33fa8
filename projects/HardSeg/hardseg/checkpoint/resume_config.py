"""``--resume`` with a config that differs from the one the run was started with.

detectron2's ``default_setup`` overwrites ``OUTPUT_DIR/config.yaml`` and training appends to
``metrics.json`` before the checkpoint is loaded, so a resume whose model no longer fits the
checkpoint used to damage the run's record and then fail with an optimizer error. This check runs
first: a change of a model key is refused (naming the keys), other changes are reported.
"""

import os
import tempfile

import yaml

__all__ = ["check_resume_config", "check_lazy_resume_config", "config_differences"]


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


def _is_resume(args) -> bool:
    return bool(getattr(args, "resume", False)) and not getattr(args, "eval_only", False)


def _read_saved(path):
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        saved = yaml.safe_load(f)
    return saved if isinstance(saved, dict) else None


def _compare(saved, current, path, is_refused, allowed: bool, override: str, output_key: str):
    diffs = config_differences(saved, current)

    def text(keys):
        return ", ".join(f"{k}: {diffs[k][0]!r} -> {diffs[k][1]!r}" for k in sorted(keys))

    refused = [k for k in diffs if is_refused(k)]
    if refused and not allowed:
        raise ValueError(
            f"--resume: the config differs from the one this run was started with ({path}) in "
            f"model keys: {text(refused)}. The checkpoint's weights and optimizer state would not "
            f"fit; nothing was written. Resume with the saved config (--config-file {path}), start "
            f"the changed run in a new {output_key}, or set {override} if the change keeps "
            "every parameter shape."
        )
    return f"--resume with config changes from {path}: {text(diffs)}." if diffs else ""


def _is_refused_yaml_key(key: str) -> bool:
    if key in ("MODEL.WEIGHTS", "MODEL.DEVICE"):  # where the weights come from, the device
        return False
    return key.startswith("MODEL.") or key == "SOLVER.OPTIMIZER"


def check_resume_config(cfg, args) -> str:
    """With ``args.resume`` (training, not ``--eval-only``) and an existing
    ``OUTPUT_DIR/config.yaml``: raise ValueError if a model key (``MODEL.*`` except ``WEIGHTS`` and
    ``DEVICE``, or ``SOLVER.OPTIMIZER``) differs, unless ``SOLVER.RESUME_ALLOW_MODEL_CHANGE``.
    Call it before ``default_setup``.

    Returns:
        a line describing the allowed differences for the log ("" when there are none).
    """
    path = os.path.join(cfg.OUTPUT_DIR, "config.yaml")
    saved = _read_saved(path) if _is_resume(args) else None
    if saved is None:
        return ""
    current = yaml.safe_load(cfg.dump())
    allowed = cfg.SOLVER.RESUME_ALLOW_MODEL_CHANGE
    override = "SOLVER.RESUME_ALLOW_MODEL_CHANGE True"
    return _compare(saved, current, path, _is_refused_yaml_key, allowed, override, "OUTPUT_DIR")


def check_lazy_resume_config(cfg, args) -> str:
    """The LazyConfig twin of :func:`check_resume_config`: compares ``model.*`` (except
    ``model.device``) and ``optimizer._target_`` with ``train.output_dir/config.yaml``; the
    override is ``train.resume_allow_model_change=True``."""
    from detectron2.config import LazyConfig

    path = os.path.join(cfg.train.output_dir, "config.yaml")
    saved = _read_saved(path) if _is_resume(args) else None
    if saved is None:
        return ""
    with tempfile.TemporaryDirectory() as d:  # the same serialisation default_setup writes
        LazyConfig.save(cfg, os.path.join(d, "config.yaml"))
        current = _read_saved(os.path.join(d, "config.yaml"))
    if current is None:  # not serialisable as YAML (detectron2 then writes a .pkl): no check
        return ""

    def is_refused(key):
        return (key.startswith("model.") and key != "model.device") or key == "optimizer._target_"

    allowed = cfg.train.get("resume_allow_model_change", False)
    override = "train.resume_allow_model_change=True"
    return _compare(saved, current, path, is_refused, allowed, override, "train.output_dir")
