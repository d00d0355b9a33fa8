"""SyncBN falls back to plain BatchNorm where it cannot run (one process, or a CPU model)."""

import logging

import torch
from torch import nn

from detectron2.utils import comm

logger = logging.getLogger(__name__)


def _to_batch_norm(module: nn.SyncBatchNorm) -> nn.BatchNorm2d:
    bn = nn.BatchNorm2d(
        module.num_features,
        module.eps,
        module.momentum,
        module.affine,
        module.track_running_stats,
    )
    bn.load_state_dict(module.state_dict())
    bn.train(module.training)
    return bn


def _replace_sync_bn(module: nn.Module) -> int:
    count = 0
    for name, child in module.named_children():
        if isinstance(child, nn.SyncBatchNorm):
            setattr(module, name, _to_batch_norm(child))
            count += 1
        else:
            count += _replace_sync_bn(child)
    return count


def sync_bn_fallback(model: nn.Module, device: torch.device) -> nn.Module:
    """Replace every ``nn.SyncBatchNorm`` of ``model`` by ``nn.BatchNorm2d`` (same parameters and
    statistics) when SyncBN cannot work: a single process, or a model not on CUDA (PyTorch's
    SyncBN is CUDA-only). Logs one line when it does. Returns ``model`` (changed in place)."""
    world_size = comm.get_world_size()
    if world_size > 1 and torch.device(device).type == "cuda":
        return model
    count = _replace_sync_bn(model)
    if count:
        why = "a single process" if world_size == 1 else f"device {device}"
        logger.info(
            f"SyncBN -> BN for {count} layers: SyncBN needs several CUDA processes ({why})."
        )
    return model
