"""Multi-process launch that also works without GPUs.

With CUDA, this is detectron2's ``launch`` (one process per GPU, NCCL). Without CUDA, detectron2
v0.6's ``launch`` refuses to start; here ``--num-gpus N`` then starts N CPU processes joined by a
gloo process group and runs the same ``main_func``, so every distributed code path (DDP, evaluator
gathers, samplers) runs in CI on a CPU machine.

Failures of one process do not leave the others hanging silently:

* every worker exits when the launcher dies (``prctl(PR_SET_PDEATHSIG)`` on Linux, a thread that
  watches the parent process elsewhere), so killing the launcher stops the whole run;
* the collective timeout is the config key ``DIST_TIMEOUT_MINUTES`` (LazyConfig:
  ``train.dist_timeout_minutes``). The process group exists before a worker reads its config, so
  the launcher reads this one key from the config (``--config-file`` and the overrides) before it
  starts the workers. 0 (the default) means 10 minutes on CPU (gloo) and detectron2's 30 minutes
  with CUDA (NCCL);
* a rank that waits in the same place for longer than a tenth of the timeout (at least 30 s)
  logs where (e.g. ``torch.distributed barrier``, called from ``trainer.py:123``) once per
  period, and a collective that times out raises an error naming the key to raise.
"""

import ctypes
import functools
import logging
import os
import signal
import socket
import sys
import threading
import time
import traceback
from datetime import timedelta

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from detectron2.engine import launch as d2_launch
from detectron2.utils import comm

__all__ = ["launch", "launch_from_args", "default_timeout", "timeout_from_config"]

DEFAULT_TIMEOUT = timedelta(minutes=30)  # detectron2's, for NCCL
DEFAULT_CPU_TIMEOUT = timedelta(minutes=10)  # gloo on CPU: a stalled rank is noticed sooner
TIMEOUT_KEY = "DIST_TIMEOUT_MINUTES"
LAZY_TIMEOUT_KEY = "train.dist_timeout_minutes"
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>

logger = logging.getLogger(__name__)


def default_timeout() -> timedelta:
    """The collective timeout when the config leaves it at 0: 30 min with CUDA, 10 min on CPU."""
    return DEFAULT_TIMEOUT if torch.cuda.is_available() else DEFAULT_CPU_TIMEOUT


def launch(
    main_func,
    num_gpus_per_machine,
    num_machines=1,
    machine_rank=0,
    dist_url=None,
    args=(),
    timeout=None,
    stall_seconds=None,
):
    """Same arguments as ``detectron2.engine.launch``; on a machine without CUDA,
    ``num_gpus_per_machine`` is the number of CPU processes per machine. ``timeout`` (a
    timedelta) defaults to :func:`default_timeout`; ``stall_seconds`` (how long a rank waits in one
    place before it logs it) to a tenth of the timeout, at least 30 s."""
    timeout = timeout or default_timeout()
    stall = stall_seconds or max(timeout.total_seconds() / 10, 30.0)
    world_size = num_machines * num_gpus_per_machine
    if torch.cuda.is_available():
        if world_size > 1:  # the workers exit with this process and log stalls, as on CPU
            main_func = functools.partial(_guarded, main_func, os.getpid(), timeout, stall)
        return d2_launch(
            main_func,
            num_gpus_per_machine,
            num_machines,
            machine_rank,
            dist_url,
            args=args,
            timeout=timeout,
        )
    if world_size <= 1:
        return main_func(*args)
    if dist_url == "auto":
        if num_machines != 1:
            raise ValueError("--dist-url auto only works on one machine; give tcp://host:port.")
        dist_url = f"tcp://127.0.0.1:{_free_port()}"
    logger.info(
        f"No CUDA: starting {num_gpus_per_machine} CPU processes per machine over gloo "
        f"(collective timeout {timeout}, {TIMEOUT_KEY})."
    )
    mp.spawn(
        _cpu_worker,
        nprocs=num_gpus_per_machine,
        args=(
            main_func,
            world_size,
            num_gpus_per_machine,
            machine_rank,
            dist_url,
            args,
            timeout,
            os.getpid(),
            stall,
        ),
        daemon=False,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def exit_with_parent(parent_pid: int) -> None:
    """Make this process end when ``parent_pid`` (its parent, the launcher) ends: SIGTERM from the
    kernel on Linux, otherwise a daemon thread that checks the parent once a second.

    ``torch.multiprocessing.spawn`` already asks for SIGINT on parent death, but a SIGINT only
    raises KeyboardInterrupt, which training code may catch (detectron2's hooks run their
    ``after_train``, e.g. a final evaluation, on the way out) and which waits behind a blocking
    collective; SIGTERM replaces it."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0:
                if os.getppid() != parent_pid:  # the parent died before prctl
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-launcher", daemon=True).start()


def _where(frame) -> str:
    """``"<innermost torch.distributed function>, called from <file>:<line>"`` for a stack."""
    stack = traceback.extract_stack(frame)
    waiting = [f for f in stack if f"torch{os.sep}distributed" in f.filename]
    ours = [f for f in stack if f"{os.sep}torch{os.sep}" not in f.filename]
    inner = stack[-1]
    what = (
        f"torch.distributed {waiting[-1].name}"
        if waiting
        else f"{inner.name} ({os.path.basename(inner.filename)}:{inner.lineno})"
    )
    if ours:
        what += f", called from {os.path.basename(ours[-1].filename)}:{ours[-1].lineno}"
    return what


def _watch_stalls(thread_id: int, rank: int, stall_seconds: float, timeout, stop):
    """Log when the thread ``thread_id`` stays at the same Python line for ``stall_seconds``
    (a rank blocked in a collective, e.g. waiting for a stopped rank); once per period."""
    last, since = None, time.monotonic()
    while not stop.wait(min(stall_seconds / 4, 5.0)):
        frame = sys._current_frames().get(thread_id)
        if frame is None:
            return
        here = (frame.f_code, frame.f_lineno, id(frame))
        now = time.monotonic()
        if here != last:
            last, since = here, now
        elif now - since >= stall_seconds:
            logger.warning(
                f"rank {rank} has been waiting {now - since:.0f} s in {_where(frame)}; another "
                f"rank may have stopped or be much slower. A collective times out after {timeout} "
                f"({TIMEOUT_KEY})."
            )
            since = now


def _guarded(main_func, launcher_pid, timeout, stall_seconds, *args):
    """Run ``main_func(*args)`` in a worker: exit with the launcher (unless ``launcher_pid`` is
    None), log stalls, and name the timeout key when a collective times out."""
    if launcher_pid is not None:
        exit_with_parent(launcher_pid)
    stop = threading.Event()
    rank = comm.get_rank() if dist.is_initialized() else -1
    watcher = threading.Thread(
        target=_watch_stalls,
        args=(threading.get_ident(), rank, stall_seconds, timeout, stop),
        name="stall-watch",
        daemon=True,
    )
    watcher.start()
    try:
        return main_func(*args)
    except RuntimeError as e:
        text = str(e).lower()
        if "timed out" in text or "timeout" in text:
            raise RuntimeError(
                f"rank {rank}: a collective timed out after {timeout} ({e}). Another rank "
                f"stopped, crashed or is much slower. If it is only slow (e.g. a long "
                f"evaluation on one rank), raise {TIMEOUT_KEY} (LazyConfig: {LAZY_TIMEOUT_KEY})."
            ) from e
        raise
    finally:
        stop.set()


def _cpu_worker(
    local_rank,
    main_func,
    world_size,
    num_per_machine,
    machine_rank,
    dist_url,
    args,
    timeout,
    launcher_pid,
    stall_seconds,
):
    exit_with_parent(launcher_pid)
    rank = machine_rank * num_per_machine + local_rank
    dist.init_process_group(
        "gloo", init_method=dist_url, world_size=world_size, rank=rank, timeout=timeout
    )
    # detectron2's comm helpers (get_local_rank/size) read this module-level group.
    for i in range(world_size // num_per_machine):
        group = dist.new_group(list(range(i * num_per_machine, (i + 1) * num_per_machine)))
        if i == machine_rank:
            comm._LOCAL_PROCESS_GROUP = group

    def run():
        comm.synchronize()
        main_func(*args)
        # Rank 0 may still be evaluating after the others return (evaluators gather, then only
        # the main process computes): tearing the group down before every rank is done crashes
        # gloo.
        comm.synchronize()

    _guarded(run, None, timeout, stall_seconds)  # exit_with_parent is already set up
    dist.destroy_process_group()


def timeout_from_config(config_file: str, opts=()) -> timedelta:
    """The collective timeout a config asks for: ``DIST_TIMEOUT_MINUTES`` of a YAML config or
    ``train.dist_timeout_minutes`` of a LazyConfig (``.py``, or a ``.yaml`` with a ``train``
    section); 0 or absent: :func:`default_timeout`."""
    from omegaconf import OmegaConf

    from .defaults import setup_cfg
    from .lazy import load_lazy_config

    minutes = 0
    if config_file:
        if config_file.endswith(".py"):
            cfg = load_lazy_config(config_file, opts)
            minutes = OmegaConf.select(cfg, LAZY_TIMEOUT_KEY, default=0)
        else:
            try:
                minutes = setup_cfg(config_file, opts, freeze=False).DIST_TIMEOUT_MINUTES
            except KeyError:  # not a detectron2 YAML config: a LazyConfig .yaml
                cfg = load_lazy_config(config_file, opts)
                minutes = OmegaConf.select(cfg, LAZY_TIMEOUT_KEY, default=0)
    if not minutes:
        return default_timeout()
    if minutes < 0:
        raise ValueError(f"{config_file}: {TIMEOUT_KEY}={minutes} must be >= 0 (0: default).")
    return timedelta(minutes=float(minutes))


def launch_from_args(main_func, args):
    """``launch(main_func, ...)`` with the multi-process options of detectron2's
    ``default_argument_parser`` (``--num-gpus``, ``--num-machines``, ``--machine-rank``,
    ``--dist-url``); ``main_func`` receives ``args``. With several processes, the collective
    timeout comes from the config (:func:`timeout_from_config`)."""
    timeout = None
    if args.num_gpus * args.num_machines > 1:
        timeout = timeout_from_config(getattr(args, "config_file", ""), getattr(args, "opts", ()))
    return launch(
        main_func,
        args.num_gpus,
        num_machines=args.num_machines,
        machine_rank=args.machine_rank,
        dist_url=args.dist_url,
        args=(args,),
        timeout=timeout,
    )
