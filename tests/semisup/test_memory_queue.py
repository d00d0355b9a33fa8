"""Per-class FIFO queues (registered buffers) and the parameter-only EMA update."""

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from hardseg.modeling.semisup.ema import copy_parameters_, ema_update_
from hardseg.modeling.semisup.memory_queue import ClassMemoryQueues, all_gather_rows


def _rows(*values):
    return torch.tensor([[float(v), -float(v)] for v in values])


def test_queue_is_fifo_per_class_and_keeps_the_newest():
    q = ClassMemoryQueues(num_classes=2, dim=2, capacities=[3, 5])
    assert q.push(0, _rows(1, 2), gather=False) == 2
    assert torch.equal(q.keys(0), _rows(1, 2))
    q.push(0, _rows(3, 4), gather=False)  # 1 falls out
    assert torch.equal(q.keys(0), _rows(2, 3, 4))
    q.push(0, _rows(5, 6, 7, 8, 9), gather=False)  # more than the capacity at once
    assert torch.equal(q.keys(0), _rows(7, 8, 9))
    assert q.length.tolist() == [3, 0] and len(q.keys(1)) == 0  # class 1 untouched
    q.push(1, _rows(10), gather=False)
    q.push(1, torch.zeros(0, 2), gather=False)  # empty pushes are fine
    assert torch.equal(q.keys(1), _rows(10)) and torch.equal(q.keys(0), _rows(7, 8, 9))
    # samples come from the stored keys only
    s = q.sample(0, 50, torch.Generator().manual_seed(0))
    assert s.shape == (50, 2) and set(s[:, 0].tolist()) <= {7.0, 8.0, 9.0}
    with pytest.raises(ValueError, match="\\(n, 2\\)"):
        q.push(0, torch.zeros(3, 4), gather=False)


def test_queues_are_checkpointed_buffers():
    q = ClassMemoryQueues(num_classes=2, dim=2, capacities=[3, 4], dtype=torch.float16)
    q.push(1, _rows(1, 2, 3), gather=False)
    state = q.state_dict()
    assert set(state) == {"queue0", "queue1", "ptr", "length"}
    assert state["queue1"].dtype == torch.float16 and state["queue1"].shape == (4, 2)
    r = ClassMemoryQueues(num_classes=2, dim=2, capacities=[3, 4], dtype=torch.float16)
    r.load_state_dict(state)
    assert torch.equal(r.keys(1), _rows(1, 2, 3).half()) and r.ptr.tolist() == [0, 3]


def test_push_all_sorts_keys_by_class():
    q = ClassMemoryQueues(num_classes=3, dim=2, capacities=[2, 5, 5])
    assert q.push_all([_rows(1, 2, 3), torch.zeros(0, 2), _rows(4)], gather=False) == [3, 0, 1]
    assert torch.equal(q.keys(0), _rows(2, 3)) and torch.equal(q.keys(2), _rows(4))
    assert len(q.keys(1)) == 0
    with pytest.raises(ValueError, match="3 key tensors"):
        q.push_all([_rows(1)], gather=False)


def test_all_gather_rows_is_identity_in_one_process():
    x = _rows(1, 2)
    assert all_gather_rows(x) is x


def _gather_worker(rank, port, out_dir):
    from detectron2.utils import comm

    dist.init_process_group("gloo", f"tcp://127.0.0.1:{port}", world_size=2, rank=rank)
    try:
        assert comm.get_world_size() == 2
        q = ClassMemoryQueues(num_classes=2, dim=2, capacities=[4, 10])
        # rank 0 pushes 2 keys, rank 1 pushes 3 (and 0 for class 1 on rank 0)
        keys = _rows(*range(10 * rank, 10 * rank + 2 + rank))
        q.push(0, keys)
        q.push(1, _rows(100) if rank == 1 else torch.zeros(0, 2))
        torch.save(q.state_dict(), os.path.join(out_dir, f"rank{rank}.pth"))
        # all classes in one gather: the same queues as per-class pushes
        q2 = ClassMemoryQueues(num_classes=2, dim=2, capacities=[4, 10])
        counts = q2.push_all([keys, _rows(100) if rank == 1 else torch.zeros(0, 2)])
        assert counts == [5, 1]
        for k, v in q2.state_dict().items():
            assert torch.equal(v, q.state_dict()[k]), k
    finally:
        dist.destroy_process_group()


def test_two_gloo_processes_gather_before_enqueue(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_gather_worker, args=(port, str(tmp_path)), nprocs=2)
    states = [torch.load(tmp_path / f"rank{r}.pth") for r in (0, 1)]
    for k in states[0]:  # both ranks hold the same queues
        assert torch.equal(states[0][k], states[1][k]), k
    q = ClassMemoryQueues(num_classes=2, dim=2, capacities=[4, 10])
    q.load_state_dict(states[0])
    # rank order 0, 1 then 10, 11, 12; capacity 4 keeps the newest four
    assert torch.equal(q.keys(0), _rows(1, 10, 11, 12))
    assert torch.equal(q.keys(1), _rows(100))


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 1)
        self.bn = nn.BatchNorm2d(3)


def test_ema_updates_parameters_only():
    torch.manual_seed(0)
    teacher, student = _Net(), _Net()
    student.bn.running_mean.fill_(5.0)
    t0 = {k: v.clone() for k, v in teacher.state_dict().items()}
    s0 = {k: v.clone() for k, v in student.state_dict().items()}
    ema_update_(teacher, student, 0.9)
    for name, _ in teacher.named_parameters():
        torch.testing.assert_close(teacher.state_dict()[name], 0.9 * t0[name] + 0.1 * s0[name])
    for name, _ in teacher.named_buffers():  # BN statistics are the teacher's own
        assert torch.equal(teacher.state_dict()[name], t0[name]), name
    copy_parameters_(teacher, student)
    for (name, t), s in zip(teacher.named_parameters(), student.parameters()):
        assert torch.equal(t, s) and t.data_ptr() != s.data_ptr(), name
    assert torch.equal(teacher.bn.running_mean, t0["bn.running_mean"])
    with pytest.raises(ValueError, match="differ"):
        ema_update_(teacher, nn.Conv2d(2, 3, 1), 0.5)
