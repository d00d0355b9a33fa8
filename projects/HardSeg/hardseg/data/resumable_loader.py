"""A training loader whose position in the data is part of its state, so ``--resume`` continues
the data where the interrupted run stopped instead of replaying it.

What makes a resumed run see exactly the batches an uninterrupted one would:

* the order: :class:`ResumableTrainingSampler` (detectron2's shuffled stream, able to start at any
  position); the loader's state is ``(seed, global sample position)``, the position counting the
  samples of the batches the trainer took (not those that loader workers prefetched);
* the batches: DataLoader worker ``w`` of ``W`` builds this rank's batches ``w, w + W, ...`` and the
  DataLoader takes one batch from each worker in turn, so batch ``j`` holds this rank's samples
  ``j * B .. (j + 1) * B - 1`` whatever the number of workers;
* the augmentation: each sample is mapped with Python's ``random``, NumPy's global generator and
  torch's CPU generator seeded from ``(seed, stream, global position)`` (:func:`sample_seed`), in
  the worker or in the main process alike; in the main process their previous states come back
  after the call, so data loading leaves the training process's random streams alone.

With ``aspect_ratio_grouping`` the batches come from two buckets (wide / tall images) in the main
process; a resume then continues after the samples that had been drawn into a bucket, so up to
``2 * (B - 1)`` samples per process that sat in a bucket at the save are skipped.
"""

import itertools
import logging
import random
import zlib
from contextlib import contextmanager
from typing import Callable, Iterator, Optional

import numpy as np
import torch
import torch.utils.data as torchdata

from detectron2.config import configurable
from detectron2.data import get_detection_dataset_dicts
from detectron2.data.common import DatasetFromList
from detectron2.utils.serialize import PicklableWrapper

from .samplers import ResumableTrainingSampler

__all__ = [
    "sample_seed",
    "seeded_rngs",
    "SeededMapDataset",
    "ResumableTrainLoader",
    "build_resumable_train_loader",
]

logger = logging.getLogger(__name__)


def sample_seed(seed: int, stream: str, position: int) -> int:
    """The augmentation seed (63 bits) of the sample at global ``position`` of loader ``stream``
    (e.g. "train", "labeled", "unlabeled") whose order is seeded with ``seed``."""
    entropy = [int(seed) & 0xFFFFFFFF, zlib.crc32(stream.encode()), int(position)]
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0] >> 1)


@contextmanager
def seeded_rngs(seed: int):
    """Seed Python's ``random``, NumPy's global generator and torch's CPU generator with ``seed``
    for the block; their previous states come back after it."""
    saved = random.getstate(), np.random.get_state(), torch.get_rng_state()
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.default_generator.manual_seed(seed)
    try:
        yield
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])
        torch.set_rng_state(saved[2])


class SeededMapDataset:
    """``mapper(dataset[index])`` with the global random generators seeded per sample."""

    def __init__(self, dataset, mapper: Callable, seed: int, stream: str):
        self.dataset = dataset
        self.mapper = PicklableWrapper(mapper)  # so that a lambda works in spawned workers too
        self.seed = seed
        self.stream = stream

    def __len__(self) -> int:
        return len(self.dataset)

    def map(self, position: int, index: int):
        """The mapped item ``index``, drawn at global ``position``. A mapper that returns None
        (a sample it cannot use) gets another item, drawn from the same seeded generator, as
        detectron2's ``MapDataset`` does."""
        with seeded_rngs(sample_seed(self.seed, self.stream, position)):
            for attempt in itertools.count(1):
                out = self.mapper(self.dataset[index])
                if out is not None:
                    return out
                if attempt % 3 == 0:
                    logger.warning(
                        f"Stream {self.stream!r}, sample {position}: the mapper returned None "
                        f"for {attempt} items in a row; drawing another."
                    )
                index = random.randrange(len(self.dataset))


class _RankBatches(torchdata.IterableDataset):
    """This rank's batches from global position ``start``: worker ``w`` of ``W`` builds batches
    ``w, w + W, ...`` (the DataLoader yields them in order, one from each worker in turn)."""

    def __init__(self, samples: SeededMapDataset, sampler, start: int, batch_size: int, collate):
        self.samples, self.sampler, self.start = samples, sampler, start
        self.batch_size, self.collate = batch_size, collate

    def __iter__(self):
        info = torchdata.get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        stream = self.sampler.rank_stream(self.start)
        batches = iter(lambda: list(itertools.islice(stream, self.batch_size)), None)
        for batch in itertools.islice(batches, worker, None, workers):
            yield self.collate([self.samples.map(p, i) for p, i in batch])


class _RankSamples(torchdata.IterableDataset):
    """This rank's mapped samples from global position ``start``, one at a time (worker ``w`` of
    ``W`` maps samples ``w, w + W, ...``), for aspect-ratio grouping in the main process."""

    def __init__(self, samples: SeededMapDataset, sampler, start: int):
        self.samples, self.sampler, self.start = samples, sampler, start

    def __iter__(self):
        info = torchdata.get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        for p, i in itertools.islice(self.sampler.rank_stream(self.start), worker, None, workers):
            yield self.samples.map(p, i)


def _identity(x):
    return x


class ResumableTrainLoader:
    """An infinite training loader (``list`` of mapped dicts per step, this process's share of
    the global batch) with ``state_dict`` / ``load_state_dict``: the seed of the order and the
    global sample position, i.e. how many samples all processes' steps have taken so far.

    The DataLoader and its workers start on the first ``next()``, from the position at that
    time, so a state loaded after ``iter(loader)`` but before the first batch takes effect."""

    def __init__(
        self,
        dataset,
        mapper: Callable,
        sampler: ResumableTrainingSampler,
        batch_size: int,
        *,
        num_workers: int = 0,
        aspect_ratio_grouping: bool = False,
        collate_fn: Optional[Callable] = None,
        stream: str = "train",
    ):
        """
        Args:
            dataset: a map-style dataset of dataset dicts; mapper: one dict -> one model input.
            sampler: the order; its ``start`` is the initial position.
            batch_size: per process; num_workers: DataLoader workers.
            aspect_ratio_grouping: batch wide and tall images separately (needs "width" and
                "height" in the mapped dicts); a resume is then not exact (see the module).
            collate_fn: applied to each batch (a list); default: the list itself.
            stream: name of this stream (part of the augmentation seeds and of the log).
        """
        self.dataset = dataset
        self.mapper = mapper
        self.sampler = sampler
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.aspect_ratio_grouping = aspect_ratio_grouping
        self.collate_fn = collate_fn or _identity
        self.stream = stream
        self.position = sampler.start

    def state_dict(self) -> dict:
        """Plain ints and a string: loads with ``torch.load(weights_only=True)``."""
        return {
            "seed": self.sampler.seed,
            "position": self.position,
            "batch_size": self.batch_size,
            "world_size": self.sampler.world_size,
            "stream": self.stream,
        }

    def load_state_dict(self, state: dict):
        if not {"seed", "position"} <= set(state):
            raise ValueError(
                f"Data stream {self.stream!r}: the checkpoint's data position {sorted(state)} is "
                "not one stream's (seed, position); was it written by another kind of run (e.g. "
                "semi-supervised)? Resume with the config that wrote it."
            )
        self.sampler.seed = int(state["seed"])
        self.position = int(state["position"])
        logger.info(
            f"Data stream {self.stream!r}: continuing the order of seed {self.sampler.seed} at "
            f"sample {self.position} (epoch {self.position // len(self.dataset)})."
        )
        saved = (state.get("batch_size"), state.get("world_size"))
        if saved != (self.batch_size, self.sampler.world_size):
            logger.warning(
                f"Data stream {self.stream!r}: saved with (batch size per process, processes) = "
                f"{saved}, resumed with {(self.batch_size, self.sampler.world_size)}; the sample "
                "order continues, but the batches are not those of an uninterrupted run."
            )

    def __iter__(self) -> Iterator[list]:
        samples = SeededMapDataset(self.dataset, self.mapper, self.sampler.seed, self.stream)
        if self.aspect_ratio_grouping:
            data = _RankSamples(samples, self.sampler, self.position)
        else:
            data = _RankBatches(
                samples, self.sampler, self.position, self.batch_size, self.collate_fn
            )
        loader = torchdata.DataLoader(
            data,
            batch_size=None,
            num_workers=self.num_workers,
            collate_fn=_identity,
            # the workers' base seed comes from here, not from the training process's generator
            generator=torch.Generator(),
        )
        world_size = self.sampler.world_size
        if not self.aspect_ratio_grouping:
            for batch in loader:
                self.position += self.batch_size * world_size
                yield batch
            return
        buckets = ([], [])  # width > height, width <= height
        for d in loader:
            self.position += world_size
            bucket = buckets[0 if d["width"] > d["height"] else 1]
            bucket.append(d)
            if len(bucket) == self.batch_size:
                batch = self.collate_fn(bucket[:])
                del bucket[:]
                yield batch


def _train_loader_from_config(cfg, mapper, *, dataset=None, stream="train"):
    if cfg.DATALOADER.SAMPLER_TRAIN != "TrainingSampler":
        raise ValueError(
            f"DATALOADER.SAMPLER_TRAIN={cfg.DATALOADER.SAMPLER_TRAIN!r}: HardSeg's resumable "
            "training loader has the shuffled order of 'TrainingSampler' only; set that."
        )
    if dataset is None:
        dataset = get_detection_dataset_dicts(
            cfg.DATASETS.TRAIN, filter_empty=cfg.DATALOADER.FILTER_EMPTY_ANNOTATIONS
        )
    return {
        "dataset": dataset,
        "mapper": mapper,
        "total_batch_size": cfg.SOLVER.IMS_PER_BATCH,
        "aspect_ratio_grouping": cfg.DATALOADER.ASPECT_RATIO_GROUPING,
        "num_workers": cfg.DATALOADER.NUM_WORKERS,
        "stream": stream,
    }


@configurable(from_config=_train_loader_from_config)
def build_resumable_train_loader(
    dataset,
    *,
    mapper: Callable,
    total_batch_size: int,
    aspect_ratio_grouping: bool = True,
    num_workers: int = 0,
    collate_fn: Optional[Callable] = None,
    shuffle: bool = True,
    seed: Optional[int] = None,
    stream: str = "train",
) -> ResumableTrainLoader:
    """Drop-in for detectron2's ``build_detection_train_loader`` (same arguments and defaults,
    without ``sampler``) whose position is saved in checkpoints. ``dataset``: a list of dataset
    dicts or a map-style dataset; ``total_batch_size`` over all processes; ``seed`` of the order
    (None: shared random, from the seeded NumPy generator); ``stream`` names the stream. From a
    config: ``build_resumable_train_loader(cfg, mapper)`` reads ``DATASETS.TRAIN``,
    ``SOLVER.IMS_PER_BATCH`` and ``DATALOADER.{NUM_WORKERS,ASPECT_RATIO_GROUPING}``."""
    if isinstance(dataset, list):
        dataset = DatasetFromList(dataset, copy=False)
    sampler = ResumableTrainingSampler(len(dataset), shuffle=shuffle, seed=seed)
    if total_batch_size <= 0 or total_batch_size % sampler.world_size:
        raise ValueError(
            f"Total batch size {total_batch_size} must be a positive multiple of the number of "
            f"processes ({sampler.world_size})."
        )
    return ResumableTrainLoader(
        dataset,
        mapper,
        sampler,
        total_batch_size // sampler.world_size,
        num_workers=num_workers,
        aspect_ratio_grouping=aspect_ratio_grouping,
        collate_fn=collate_fn,
        stream=stream,
    )
