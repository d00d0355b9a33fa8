"""Per-class FIFO queues of (teacher) embeddings, stored as registered buffers.

See docs/methods/u2pl.md §2 and §4.3 (official ``dequeue_and_enqueue`` in
``u2pl/utils/utils.py``: gather the keys of every GPU, append, keep the newest ``queue_size``).
Here each class has a fixed-capacity ring buffer, so the queues live in the model's
``state_dict`` and come back on resume (the official ones are CPU lists and are not saved). The
set of stored keys equals the official queue's (its newest ``capacity`` keys); only their order
inside the buffer differs, which sampling with replacement does not see.
"""

from typing import List, Sequence

import torch
import torch.distributed as dist
from torch import nn

from detectron2.utils import comm

__all__ = ["ClassMemoryQueues", "all_gather_rows"]


@torch.no_grad()
def all_gather_rows(x: torch.Tensor) -> torch.Tensor:
    """Concatenate the (n_r, D) tensors of every rank, in rank order (n_r may differ and be 0).
    A no-op with one process. Works with gloo (CPU) and NCCL (CUDA): sizes are gathered first and
    every rank pads to the largest. No gradient flows through it."""
    if comm.get_world_size() == 1:
        return x
    world = comm.get_world_size()
    n = torch.tensor([x.shape[0]], device=x.device, dtype=torch.long)
    sizes = [torch.zeros_like(n) for _ in range(world)]
    dist.all_gather(sizes, n)
    sizes = [int(s) for s in sizes]
    biggest = max(sizes)
    if biggest == 0:
        return x
    padded = x.new_zeros((biggest,) + tuple(x.shape[1:]))
    padded[: x.shape[0]] = x
    out = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(out, padded.contiguous())
    return torch.cat([o[:s] for o, s in zip(out, sizes)], dim=0)


class ClassMemoryQueues(nn.Module):
    """One FIFO queue of D-dim keys per class.

    Buffers (all in ``state_dict``): ``queue<c>`` (capacity_c, D) in ``dtype``, ``ptr`` (K,) int64
    (next write position per class) and ``length`` (K,) int64 (filled entries per class, at most
    capacity_c). Keys are pushed without grad.
    """

    def __init__(self, num_classes: int, dim: int, capacities: Sequence[int], dtype=torch.float32):
        super().__init__()
        if len(capacities) != num_classes or min(capacities) <= 0:
            raise ValueError(f"need {num_classes} positive capacities, got {list(capacities)}")
        self.num_classes = num_classes
        self.dim = dim
        self.capacities: List[int] = [int(c) for c in capacities]
        for c, cap in enumerate(self.capacities):
            self.register_buffer(f"queue{c}", torch.zeros(cap, dim, dtype=dtype))
        self.register_buffer("ptr", torch.zeros(num_classes, dtype=torch.long))
        self.register_buffer("length", torch.zeros(num_classes, dtype=torch.long))

    def queue(self, c: int) -> torch.Tensor:
        """The (capacity_c, D) buffer of class c (only its first ``length[c]`` rows are keys
        once the ring has wrapped; all of them are in use then)."""
        return getattr(self, f"queue{c}")

    def keys(self, c: int) -> torch.Tensor:
        """The stored keys of class c, (length_c, D), oldest first."""
        q, n, p = self.queue(c), int(self.length[c]), int(self.ptr[c])
        if n < self.capacities[c]:
            return q[:n]
        return torch.cat([q[p:], q[:p]])

    @torch.no_grad()
    def push(self, c: int, keys: torch.Tensor, gather: bool = True) -> int:
        """Append ``keys`` (n, D) to class c's queue, dropping the oldest beyond capacity. With
        ``gather`` the keys of every rank are concatenated first (rank order), so all ranks hold
        the same queues. Returns the number of keys pushed (after the gather)."""
        if keys.dim() != 2 or keys.shape[1] != self.dim:
            raise ValueError(f"keys must be (n, {self.dim}), got {tuple(keys.shape)}")
        if gather:
            keys = all_gather_rows(keys.detach())
        n = keys.shape[0]
        if n == 0:
            return 0
        q, cap = self.queue(c), self.capacities[c]
        keys = keys[-cap:].to(q.dtype)  # only the newest `cap` can survive
        m = keys.shape[0]
        p = int(self.ptr[c])
        first = min(m, cap - p)
        q[p : p + first] = keys[:first]
        if m > first:
            q[: m - first] = keys[first:]
        self.ptr[c] = (p + m) % cap
        self.length[c] = min(int(self.length[c]) + m, cap)
        return n

    @torch.no_grad()
    def push_all(self, keys_per_class: Sequence[torch.Tensor], gather: bool = True) -> List[int]:
        """:meth:`push` for every class at once, with one cross-rank gather for all of them
        (keys and their class ids travel together). ``keys_per_class[c]`` is (n_c, D). Each
        class's queue receives its keys in rank order, as with per-class pushes. Returns the
        number of keys pushed per class (after the gather)."""
        if len(keys_per_class) != self.num_classes:
            raise ValueError(f"need {self.num_classes} key tensors, got {len(keys_per_class)}")
        keys = torch.cat([k.detach().float() for k in keys_per_class])
        ids = torch.cat(
            [torch.full((len(k),), c, device=keys.device) for c, k in enumerate(keys_per_class)]
        )
        rows = torch.cat([keys, ids[:, None].float()], dim=1)  # class ids are exact in float32
        if gather:
            rows = all_gather_rows(rows)
        ids = rows[:, -1].long()
        return [self.push(c, rows[ids == c, :-1], gather=False) for c in range(self.num_classes)]

    def sample(self, c: int, num: int, generator=None) -> torch.Tensor:
        """``num`` keys of class c drawn uniformly with replacement, (num, D) in float32."""
        n = int(self.length[c])
        if n == 0:
            raise ValueError(f"queue of class {c} is empty")
        idx = torch.randint(n, (num,), generator=generator).to(self.queue(c).device)
        return self.queue(c)[idx].float()
