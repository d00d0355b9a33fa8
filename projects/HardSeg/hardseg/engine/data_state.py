"""The training loader's position as a checkpointable, so ``--resume`` continues the data where
the interrupted run stopped (see hardseg/data/resumable_loader.py)."""

import logging

__all__ = ["DataLoaderState"]

logger = logging.getLogger(__name__)


class DataLoaderState:
    """Give it to a ``Checkpointer`` as an extra checkpointable:
    ``Checkpointer(..., data=DataLoaderState(train_loader))``. A loader with ``state_dict`` /
    ``load_state_dict`` (``ResumableTrainLoader``, ``TwoStreamLoader``) is saved and restored;
    any other loader saves nothing and restarts its order on resume (logged)."""

    def __init__(self, loader):
        self.loader = loader
        self.restored = False

    def _resumable(self) -> bool:
        return hasattr(self.loader, "state_dict") and hasattr(self.loader, "load_state_dict")

    def state_dict(self) -> dict:
        return self.loader.state_dict() if self._resumable() else {}

    def load_state_dict(self, state: dict):
        if state and self._resumable():
            self.loader.load_state_dict(state)
            self.restored = True

    def check_resumed(self, start_iter: int):
        """Call after loading a checkpoint: a run resumed at ``start_iter > 0`` whose checkpoint
        had no data position (saved by an older HardSeg, or by a loader without a state) logs
        that its data order starts again from the beginning."""
        if start_iter > 0 and not self.restored:
            logger.warning(
                f"Resuming at iteration {start_iter} from a checkpoint without the data position "
                f"(or with a loader, {type(self.loader).__name__}, that has none): the data order "
                "restarts from its seed, so the batches of the first iterations are seen again."
            )
