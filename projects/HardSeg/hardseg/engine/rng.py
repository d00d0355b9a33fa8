"""Random-number-generator state as a checkpointable, so a resumed run continues with the same
Python / NumPy / torch (CPU and CUDA) streams. (Data loading seeds each sample's augmentation from
its position and leaves these streams alone; its position is saved by
hardseg/engine/data_state.py.)

With several processes only the main process writes the checkpoint, but every process has its own
streams (dropout masks, U2PL's strong augmentation and CutMix). :class:`RNGGatherHook` gathers every
process's state into the main process's :class:`RNGState` just before each save, and on resume
each process loads its own entry."""

import logging
import random

import numpy as np
import torch

from detectron2.engine import HookBase, hooks
from detectron2.utils import comm

__all__ = ["RNGState", "RNGGatherHook", "add_rng_gather_hook", "rng_state", "set_rng_state"]

logger = logging.getLogger(__name__)


def rng_state() -> dict:
    """This process's Python / NumPy / torch (and CUDA) generator states, as tensors and plain
    Python values only, so the checkpoint loads with ``torch.load(weights_only=True)``."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": (name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict):
    """Inverse of :func:`rng_state`."""
    random.setstate(state["python"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class RNGState:
    """Give it to a ``Checkpointer`` as an extra checkpointable: ``Checkpointer(..., rng=RNGState())``.

    ``state_dict()``: this process's state (the keys of :func:`rng_state`), plus ``"ranks"``, the
    list of every process's state, when :meth:`gather` ran on all processes since the last save.
    ``load_state_dict()`` loads the entry of this process's rank when the checkpoint holds one per
    process of the current world size, else the saving process's state (logged when several
    processes share it).
    """

    def __init__(self):
        self._rank_states = None

    def gather(self):
        """Collective: every process must call it (see :class:`RNGGatherHook`)."""
        states = comm.all_gather(rng_state())
        self._rank_states = states if comm.is_main_process() else None

    def state_dict(self) -> dict:
        state = rng_state()
        if self._rank_states is not None:
            state["ranks"] = self._rank_states
            self._rank_states = None
        return state

    def load_state_dict(self, state: dict):
        ranks, world = state.get("ranks"), comm.get_world_size()
        if ranks is not None and len(ranks) == world:
            set_rng_state(ranks[comm.get_rank()])
            return
        if world > 1:
            saved = f"{len(ranks)} processes" if ranks is not None else "one process"
            logger.warning(
                f"The checkpoint holds the RNG state of {saved}, not of each of these {world}: "
                "every process resumes with the main process's streams (dropout and random "
                "augmentation draws then differ from an uninterrupted run)."
            )
        set_rng_state(state)


class RNGGatherHook(HookBase):
    """Before each iteration at which the periodic checkpointer saves, gather every process's RNG
    state into ``rng`` (the checkpointer's :class:`RNGState`). Runs on every process, placed where
    the ``PeriodicCheckpointer`` runs on the main process, so the states are those the save
    would see. Does nothing with one process."""

    def __init__(self, rng: RNGState, period: int, max_iter: int):
        self.rng, self.period, self.max_iter = rng, period, max_iter

    def after_step(self):
        if comm.get_world_size() == 1:
            return
        it = self.trainer.iter
        # fvcore's PeriodicCheckpointer: model_{it} every `period`, model_final at the last one
        if (self.period > 0 and (it + 1) % self.period == 0) or it >= self.max_iter - 1:
            self.rng.gather()


def add_rng_gather_hook(hook_list, rng: RNGState, period: int, max_iter: int):
    """``hook_list`` (None entries allowed) with an :class:`RNGGatherHook` just before the
    ``PeriodicCheckpointer`` (main process), or where it would be on the others: before the first
    ``EvalHook``, else at the end."""
    hook_list = [h for h in hook_list if h is not None]
    gather = RNGGatherHook(rng, period, max_iter)
    for kind in (hooks.PeriodicCheckpointer, hooks.EvalHook):
        for i, h in enumerate(hook_list):
            if isinstance(h, kind):
                return hook_list[:i] + [gather] + hook_list[i:]
    return hook_list + [gather]
