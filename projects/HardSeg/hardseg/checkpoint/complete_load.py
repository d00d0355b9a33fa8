"""Loading weights for evaluation or visualisation: every model key must come from the file.

fvcore's checkpointer only warns about missing or shape-mismatched keys and leaves those
parameters randomly initialised; a metric or a panel computed from such a model looks valid but
is not. :func:`load_model_weights` refuses that unless a partial load is explicitly allowed. Keys
in the file that the model lacks are only logged: a training checkpoint evaluated in its
inference-time model (an HL checkpoint in the plain model, whose HL branch is unused at test
time) is a legitimate use.
"""

import logging

from fvcore.common.checkpoint import _filter_reused_missing_keys

from .checkpointer import HardSegCheckpointer

__all__ = ["IncompleteWeightsError", "load_model_weights"]


class IncompleteWeightsError(ValueError):
    """No weights were given, or they leave model keys missing or of another shape."""


def _examples(keys, n=8):
    keys = sorted(keys)
    more = f" and {len(keys) - n} more" if len(keys) > n else ""
    return ", ".join(keys[:n]) + more


def incompatible_keys_problems(model, incompatible) -> list:
    """Human-readable problems of a load: model keys missing from the file or of another shape
    (empty when every model key was loaded)."""
    problems = []
    mismatched = {k for k, _, _ in incompatible.incorrect_shapes}  # fvcore lists them as missing
    missing = [
        k
        for k in _filter_reused_missing_keys(model, incompatible.missing_keys)
        if k not in mismatched
    ]
    if missing:
        problems.append(f"{len(missing)} model keys missing from the file ({_examples(missing)})")
        if any(".hl." in k for k in missing):
            problems.append(
                "the HL branch (sem_seg_head.hl.*) is not in the file: these are weights of a "
                "model without HL; use an HL checkpoint"
            )
    if incompatible.incorrect_shapes:
        shapes = [
            f"{k}: {tuple(a)} in the file, {tuple(b)} in the model"
            for k, a, b in incompatible.incorrect_shapes
        ]
        problems.append(f"{len(shapes)} shape mismatches ({_examples(shapes, 4)})")
    return problems


def load_model_weights(
    model,
    path: str,
    *,
    allow_partial: bool = False,
    weights_key: str = "MODEL.WEIGHTS",
    override: str = "TEST.ALLOW_PARTIAL_WEIGHTS True",
    save_dir: str = "",
    resume: bool = False,
) -> str:
    """Load ``path`` into ``model`` (with ``resume``, the checkpoint to resume from in
    ``save_dir`` when there is one, as ``resume_or_load`` does) and check the result.

    Args:
        weights_key, override: the config key that names the weights and the setting that allows
            a partial load, as the user writes them; they appear in the error messages.

    Returns:
        the file that was loaded ("" when none was and ``allow_partial`` is set).

    Raises:
        IncompleteWeightsError: no file is given, or the file leaves model keys missing or
            gives them another shape (unless ``allow_partial``).
        CheckpointLoadError: the file cannot be read safely (see ``load_checkpoint_file``).
    """
    logger = logging.getLogger(__name__)
    checkpointer = HardSegCheckpointer(model, save_dir=save_dir)
    if resume and checkpointer.has_checkpoint():
        path = checkpointer.get_checkpoint_file()
    if not path:
        if allow_partial:
            logger.warning(
                f"No weights ({weights_key} is empty): the model is randomly initialised."
            )
            return ""
        raise IncompleteWeightsError(
            f"No weights to evaluate: {weights_key} is empty. Set it to a checkpoint trained with "
            f"this config (e.g. OUTPUT_DIR/model_final.pth), or set {override} to use a randomly "
            "initialised model on purpose."
        )
    checkpointer.load(path, checkpointables=[])
    problems = incompatible_keys_problems(
        checkpointer.model, checkpointer.incompatible
    )  # unwrapped
    if problems and not allow_partial:
        raise IncompleteWeightsError(
            f"{path} does not fit this config's model: " + "; ".join(problems) + ". Results "
            "from the randomly initialised rest would be meaningless. Use a checkpoint trained "
            f"with this config, or set {override} to accept a partial load."
        )
    if problems:
        logger.warning(f"{path}: partial load allowed by {override}: " + "; ".join(problems))
    return path
