"""The resumable training loader: its order, its batches with and without workers, its state, and
per-sample augmentation seeds."""

import itertools
import logging
import random

import numpy as np
import pytest
import torch

from detectron2.data.samplers import TrainingSampler

from hardseg.data.resumable_loader import build_resumable_train_loader, sample_seed
from hardseg.data.samplers import ResumableTrainingSampler
from hardseg.engine.data_state import DataLoaderState

DATASET = [{"i": i, "width": 4 + i % 2, "height": 4} for i in range(7)]


def draw(d):
    """A stand-in mapper: the item and one draw from each global generator ("augmentation")."""
    return (d["i"], random.random(), float(np.random.rand()), float(torch.rand(())))


def draw_dict(d):
    """``draw`` as a dict that keeps "width" and "height" (aspect-ratio grouping reads them)."""
    return dict(d, draws=draw(d)[1:])


def loader(num_workers=0, batch=3, grouping=False, mapper=draw):
    return build_resumable_train_loader(
        DATASET,
        mapper=mapper,
        total_batch_size=batch,
        num_workers=num_workers,
        aspect_ratio_grouping=grouping,
        seed=3,
    )


def take(data_loader, n):
    it = iter(data_loader)
    return [next(it) for _ in range(n)]


@pytest.mark.parametrize("world_size", [1, 3])
def test_sampler_is_detectron2_order_from_any_position(world_size):
    for rank in range(world_size):
        ref = TrainingSampler(7, seed=5)
        ref._rank, ref._world_size = rank, world_size
        expected = list(itertools.islice(ref, 30))
        ours = ResumableTrainingSampler(7, seed=5, rank=rank, world_size=world_size)
        assert list(itertools.islice(ours, 30)) == expected
        # starting at global position 10 * world_size (epoch 4 when world_size = 3) continues it
        later = ResumableTrainingSampler(
            7, seed=5, rank=rank, world_size=world_size, start=10 * world_size
        )
        assert list(itertools.islice(later, 20)) == expected[10:]
    with pytest.raises(ValueError, match="size=0"):
        ResumableTrainingSampler(0, seed=0)


@pytest.mark.filterwarnings("ignore:This DataLoader will create 3 worker processes:UserWarning")
def test_batches_do_not_depend_on_the_worker_count():
    ref = take(loader(0), 8)
    order = [d[0] for batch in ref for d in batch]
    g = torch.Generator().manual_seed(3)
    perms = [torch.randperm(7, generator=g).tolist() for _ in range(4)]
    assert order == sum(perms, [])[:24]  # batch j holds samples 3j .. 3j + 2 of the order
    # the same item drawn in another epoch gets other augmentation draws
    assert len({d for batch in ref for d in batch}) == 24
    assert take(loader(2), 8) == ref
    assert take(loader(3), 8) == ref


@pytest.mark.parametrize("num_workers", [0, 2])
def test_state_counts_the_batches_taken_and_resumes_exactly(num_workers):
    ref = take(loader(0), 8)
    first = loader(num_workers)
    it = iter(first)
    got = [next(it) for _ in range(3)]  # 3 batches: not a multiple of 2 workers
    # workers have prefetched further; the position counts what was taken
    state = first.state_dict()
    assert state == {"seed": 3, "position": 9, "batch_size": 3, "world_size": 1, "stream": "train"}
    del it

    resumed = loader(num_workers)
    it = iter(resumed)  # as SimpleTrainer does before the checkpoint is loaded
    resumed.load_state_dict(state)
    got += [next(it) for _ in range(5)]
    assert got == ref
    assert resumed.state_dict()["position"] == 24


def test_loading_leaves_the_training_process_generators_alone():
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    expected = (random.random(), float(np.random.rand()), float(torch.rand(())))
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    take(loader(0), 2)
    assert (random.random(), float(np.random.rand()), float(torch.rand(()))) == expected


def test_augmentation_seed_is_per_stream_and_position():
    s = sample_seed(3, "train", 5)
    assert s == sample_seed(3, "train", 5) and 0 <= s < 2**63
    assert len({s, sample_seed(3, "labeled", 5), sample_seed(3, "train", 6)}) == 3
    assert sample_seed(4, "train", 5) != s


def _grouped_ids(order, batch):
    """Batches of item ids that wide / square buckets of ``batch`` make from ``order``."""
    buckets, out = ([], []), []
    for i in order:
        bucket = buckets[0 if DATASET[i]["width"] > DATASET[i]["height"] else 1]
        bucket.append(i)
        if len(bucket) == batch:
            out.append(bucket[:])
            del bucket[:]
    return out


def test_aspect_ratio_grouping_resumes_after_the_drawn_samples():
    # wide items (odd i) and square ones are batched apart; a resume skips the buffered ones
    g = torch.Generator().manual_seed(3)
    order = sum((torch.randperm(7, generator=g).tolist() for _ in range(6)), [])
    ids = lambda batches: [[d["i"] for d in b] for b in batches]  # noqa: E731
    grouped = dict(batch=2, grouping=True, mapper=draw_dict)
    ref = take(loader(2, **grouped), 6)
    assert ids(ref) == _grouped_ids(order, 2)[:6]
    assert take(loader(0, **grouped), 6) == ref
    first = loader(2, **grouped)
    assert take(first, 3) == ref[:3]
    state = first.state_dict()
    drawn = state["position"]  # samples drawn into the 3 batches and the buckets
    assert 6 <= drawn <= 6 + 2 * (2 - 1)
    resumed = loader(2, **grouped)
    resumed.load_state_dict(state)
    # the order continues at sample `drawn`, with empty buckets
    assert ids(take(resumed, 3)) == _grouped_ids(order[drawn:], 2)[:3]


def test_loader_without_state_restarts_with_a_warning(caplog):
    state = DataLoaderState([[1], [2]])  # a plain iterable: nothing to save
    assert state.state_dict() == {}
    state.load_state_dict({})
    with caplog.at_level(logging.WARNING, logger="hardseg.engine.data_state"):
        state.check_resumed(0)
        assert not caplog.records
        state.check_resumed(4)
    assert "restarts from its seed" in caplog.text
    ours = DataLoaderState(loader(0))
    ours.load_state_dict(ours.state_dict())
    assert ours.restored


def test_a_position_of_another_kind_of_run_is_refused():
    from hardseg.data.semisup_loader import TwoStreamLoader

    per_pixel, two = loader(0), TwoStreamLoader(loader(0), loader(0))
    with pytest.raises(ValueError, match="not one stream's"):
        per_pixel.load_state_dict(two.state_dict())
    with pytest.raises(ValueError, match=r"streams \['batch_size', 'position'"):
        two.load_state_dict(per_pixel.state_dict())
