"""Random-number-generator state as a checkpointable, so a resumed run continues with the same
Python / NumPy / torch (CPU and CUDA) streams in the main process. (Data loading seeds each
sample's augmentation from its position and leaves these streams alone; its position is saved by
hardseg/engine/data_state.py.) Only the saving process's state is saved: with several processes,
the others resume with it."""

import random

import numpy as np
import torch

__all__ = ["RNGState"]


class RNGState:
    """Give it to a ``Checkpointer`` as an extra checkpointable: ``Checkpointer(..., rng=RNGState())``."""

    def state_dict(self) -> dict:
        # Tensors and plain Python values only, so the checkpoint loads with torch.load's
        # default weights_only=True (PyTorch >= 2.6).
        name, keys, pos, has_gauss, cached = np.random.get_state()
        state = {
            "python": random.getstate(),
            "numpy": (name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached),
            "torch": torch.get_rng_state(),
        }
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state: dict):
        random.setstate(state["python"])
        name, keys, pos, has_gauss, cached = state["numpy"]
        np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
        torch.set_rng_state(state["torch"])
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])
