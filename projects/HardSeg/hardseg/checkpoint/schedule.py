"""Resuming with another schedule length (``SOLVER.MAX_ITER`` / ``train.max_iter``).

A torch LR scheduler's ``state_dict`` holds its settings (WarmupPolyLR: ``max_iters``,
``warmup_iters``, ``power``, ...) next to its progress (``last_epoch``, ``base_lrs``), so loading a
checkpoint would bring back the old length: after extending a run the poly factor
``(1 - iter / max_iters) ** power`` takes the root of a negative number ("math domain error").
HardSeg keeps the progress from the checkpoint and the settings from the current config.
"""

import logging

__all__ = ["scheduler_settings", "keep_scheduler_settings", "check_resume_length"]

# Scheduler state that describes progress, restored from the checkpoint; the rest are settings.
_PROGRESS = {
    "last_epoch",
    "_step_count",
    "_last_lr",
    "base_lrs",
    "_is_initial",
    "_get_lr_called_within_step",
}


def scheduler_settings(scheduler) -> dict:
    """The scheduler's settings (its state without the progress entries)."""
    return {k: v for k, v in scheduler.state_dict().items() if k not in _PROGRESS}


def keep_scheduler_settings(scheduler, settings: dict) -> dict:
    """After a checkpoint was loaded into ``scheduler``, put back ``settings`` (taken from the
    freshly built scheduler) and recompute the current learning rate from them.

    Returns:
        {name: (value in the checkpoint, value now)} for each setting that differed (logged).
    """
    loaded = scheduler_settings(scheduler)
    changed = {k: (loaded.get(k), v) for k, v in settings.items() if loaded.get(k) != v}
    if not changed:
        return changed
    scheduler.__dict__.update(settings)
    old_lr = [g["lr"] for g in scheduler.optimizer.param_groups]
    # Recompute this iteration's LR with the new settings: step() advances by one, so step back.
    scheduler.last_epoch -= 1
    scheduler._step_count -= 1
    scheduler.step()
    new_lr = [g["lr"] for g in scheduler.optimizer.param_groups]
    text = ", ".join(f"{k} {a} -> {b}" for k, (a, b) in changed.items())
    logging.getLogger(__name__).info(
        f"Resumed LR schedule recomputed for the current config ({text}): learning rate at "
        f"iteration {scheduler.last_epoch} {max(old_lr):.6g} -> {max(new_lr):.6g}."
    )
    return changed


def check_resume_length(start_iter: int, max_iter: int, key: str):
    """Refuse a resume whose checkpoint is already past ``max_iter``; log the remaining length.

    Args:
        key: the config key of ``max_iter`` as the user writes it (``SOLVER.MAX_ITER``).
    """
    if start_iter > max_iter:
        raise ValueError(
            f"The checkpoint to resume from ends at iteration {start_iter - 1}, past {key}="
            f"{max_iter}: nothing is left to train. To train longer set {key} above "
            f"{start_iter - 1}; to shorten the run, start it afresh (without --resume or in a "
            "new OUTPUT_DIR); to evaluate the checkpoint, use --eval-only."
        )
    logging.getLogger(__name__).info(
        f"Resuming at iteration {start_iter} of {key}={max_iter}; the LR schedule is computed for "
        f"{max_iter} iterations."
    )
