"""An infinite, shuffled, rank-sharded training sampler that can start at any position.

It draws the same global stream as detectron2 v0.6's ``TrainingSampler`` with the same seed
(``shuffle(range(size)) + shuffle(range(size)) + ...``, one ``torch.randperm`` per epoch from a
generator seeded once), and rank ``r`` of ``world_size`` takes the global positions ``r, r +
world_size, ...`` of it. Unlike ``TrainingSampler`` it can start at a global position ``start``,
so a resumed run continues the stream instead of replaying it from the beginning.
"""

import itertools
from typing import Iterator, Optional, Tuple

import torch
from torch.utils.data.sampler import Sampler

from detectron2.utils import comm

__all__ = ["ResumableTrainingSampler"]


class ResumableTrainingSampler(Sampler):
    """Infinite stream of dataset indices for this rank, from global position ``start`` on.

    Its state is ``(seed, start)``: both are plain ints, saved by the loader that owns it."""

    def __init__(
        self,
        size: int,
        *,
        shuffle: bool = True,
        seed: Optional[int] = None,
        start: int = 0,
        rank: Optional[int] = None,
        world_size: Optional[int] = None,
    ):
        """
        Args:
            size: number of dataset items (> 0).
            shuffle: a new random permutation every epoch; False: ``range(size)`` repeated.
            seed: seed of the permutations, the same on every rank; None draws one shared by
                all ranks (``comm.shared_random_seed``, a collective call), as detectron2 does.
            start: global position (over all ranks) of the first index to give.
            rank, world_size: this process and the number of processes (default: from
                ``detectron2.utils.comm``).
        """
        if not isinstance(size, int) or size <= 0:
            raise ValueError(f"ResumableTrainingSampler(size={size!r}): expected an int > 0.")
        self.size = size
        self.shuffle = shuffle
        self.seed = int(comm.shared_random_seed() if seed is None else seed)
        self.start = int(start)
        self.rank = comm.get_rank() if rank is None else rank
        self.world_size = comm.get_world_size() if world_size is None else world_size

    def global_stream(self, start: int = 0) -> Iterator[Tuple[int, int]]:
        """``(global position, dataset index)`` pairs of all ranks, from position ``start``.
        Reaching epoch ``start // size`` replays the generator through the earlier epochs'
        permutations (one ``randperm`` each: cheap next to loading one image)."""
        g = torch.Generator()
        g.manual_seed(self.seed)
        epoch, offset = divmod(start, self.size)
        for e in itertools.count():
            order = torch.randperm(self.size, generator=g) if self.shuffle else None
            if e < epoch:
                continue
            order = order.tolist() if self.shuffle else range(self.size)
            first = offset if e == epoch else 0
            for i in range(first, self.size):
                yield e * self.size + i, order[i]

    def rank_stream(self, start: Optional[int] = None) -> Iterator[Tuple[int, int]]:
        """This rank's ``(global position, dataset index)`` pairs from global position ``start``
        (default ``self.start``): the positions ``start + rank + k * world_size``."""
        start = self.start if start is None else start
        return itertools.islice(self.global_stream(start), self.rank, None, self.world_size)

    def __iter__(self) -> Iterator[int]:
        for _, index in self.rank_stream():
            yield index
