"""Multi-process launch that also works without GPUs.

With CUDA, this is detectron2's ``launch`` (one process per GPU, NCCL). Without CUDA, detectron2
v0.6's ``launch`` refuses to start; here ``--num-gpus N`` then starts N CPU processes joined by a
gloo process group and runs the same ``main_func``, so every distributed code path (DDP, evaluator
gathers, samplers) runs in CI on a CPU machine.
"""

import logging
import socket
from datetime import timedelta

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from detectron2.engine import launch as d2_launch
from detectron2.utils import comm

__all__ = ["launch", "launch_from_args"]

DEFAULT_TIMEOUT = timedelta(minutes=30)


def launch(
    main_func,
    num_gpus_per_machine,
    num_machines=1,
    machine_rank=0,
    dist_url=None,
    args=(),
    timeout=DEFAULT_TIMEOUT,
):
    """Same arguments as ``detectron2.engine.launch``; on a machine without CUDA,
    ``num_gpus_per_machine`` is the number of CPU processes per machine."""
    if torch.cuda.is_available():
        return d2_launch(
            main_func,
            num_gpus_per_machine,
            num_machines,
            machine_rank,
            dist_url,
            args=args,
            timeout=timeout,
        )
    world_size = num_machines * num_gpus_per_machine
    if world_size <= 1:
        return main_func(*args)
    if dist_url == "auto":
        if num_machines != 1:
            raise ValueError("--dist-url auto only works on one machine; give tcp://host:port.")
        dist_url = f"tcp://127.0.0.1:{_free_port()}"
    logging.getLogger(__name__).info(
        f"No CUDA: starting {num_gpus_per_machine} CPU processes per machine over gloo."
    )
    mp.spawn(
        _cpu_worker,
        nprocs=num_gpus_per_machine,
        args=(main_func, world_size, num_gpus_per_machine, machine_rank, dist_url, args, timeout),
        daemon=False,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cpu_worker(
    local_rank, main_func, world_size, num_per_machine, machine_rank, dist_url, args, timeout
):
    rank = machine_rank * num_per_machine + local_rank
    dist.init_process_group(
        "gloo", init_method=dist_url, world_size=world_size, rank=rank, timeout=timeout
    )
    # detectron2's comm helpers (get_local_rank/size) read this module-level group.
    for i in range(world_size // num_per_machine):
        group = dist.new_group(list(range(i * num_per_machine, (i + 1) * num_per_machine)))
        if i == machine_rank:
            comm._LOCAL_PROCESS_GROUP = group
    comm.synchronize()
    main_func(*args)
    # Rank 0 may still be evaluating after the others return (evaluators gather, then only the
    # main process computes): tearing the group down before every rank is done crashes gloo.
    comm.synchronize()
    dist.destroy_process_group()


def launch_from_args(main_func, args):
    """``launch(main_func, ...)`` with the multi-process options of detectron2's
    ``default_argument_parser`` (``--num-gpus``, ``--num-machines``, ``--machine-rank``,
    ``--dist-url``); ``main_func`` receives ``args``."""
    return launch(
        main_func,
        args.num_gpus,
        num_machines=args.num_machines,
        machine_rank=args.machine_rank,
        dist_url=args.dist_url,
        args=(args,),
    )
