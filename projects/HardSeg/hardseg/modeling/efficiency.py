"""Training-speed and memory switches applied to a built model: channels_last memory format
(``MODEL.CHANNELS_LAST`` / ``train.channels_last``) and activation checkpointing of the backbone
stages (``MODEL.BACKBONE_ACTIVATION_CHECKPOINT`` / ``train.activation_checkpoint``).
"""

import contextlib
import types

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

__all__ = ["to_channels_last", "checkpoint_backbone_stages", "apply_efficiency_options"]


def to_channels_last(model: nn.Module) -> nn.Module:
    """Every 4-D parameter and buffer of ``model`` in ``torch.channels_last`` (NHWC) layout; the
    convolutions then return NHWC activations whatever the input layout (faster convolutions with
    cuDNN / tensor cores in bf16 and fp16). Values and parameter names are unchanged."""
    return model.to(memory_format=torch.channels_last)


@contextlib.contextmanager
def _keep_bn_statistics(module: nn.Module):
    """Restore the running statistics of ``module``'s batch norms on exit (the recomputation in
    backward must not update them a second time)."""
    saved = [
        (m, m.running_mean.clone(), m.running_var.clone(), m.num_batches_tracked.clone())
        for m in module.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is not None
    ]
    try:
        yield
    finally:
        for m, mean, var, count in saved:
            m.running_mean.copy_(mean)
            m.running_var.copy_(var)
            m.num_batches_tracked.copy_(count)


def _checkpointed_forward(self, x):
    """A stage's forward that keeps only its input for backward and recomputes the rest."""
    if not (self.training and torch.is_grad_enabled()):
        return type(self).forward(self, x)
    calls = []

    def run(inp):
        calls.append(None)
        if len(calls) == 1:
            return type(self).forward(self, inp)
        with _keep_bn_statistics(self):  # recomputation during backward
            return type(self).forward(self, inp)

    return checkpoint(run, x, use_reentrant=False)


def _resnet_like(module: nn.Module) -> bool:
    # detectron2's ResNet and the DeepLab ResNet built on it: ``stages`` + ``stage_names``
    return hasattr(module, "stages") and hasattr(module, "stage_names")


def checkpoint_backbone_stages(model: nn.Module) -> int:
    """Activation checkpointing of every stage (res2 ... res5) of every ResNet backbone inside
    ``model`` (a U2PL model has two: student and teacher; the teacher runs without grad and is
    unaffected). Stored activations drop to the stage inputs; each stage runs its forward twice.
    Batch-norm statistics are updated once per step, as without checkpointing. Parameter names
    are unchanged. Returns the number of stages wrapped.

    Raises:
        ValueError: the model has no backbone with stages (e.g. a transformer backbone).
    """
    n = 0
    for m in model.modules():
        if _resnet_like(m):
            for stage in m.stages:
                stage.forward = types.MethodType(_checkpointed_forward, stage)
                n += 1
    if n == 0:
        raise ValueError(
            "MODEL.BACKBONE_ACTIVATION_CHECKPOINT: the model has no ResNet-style backbone (a "
            "module with 'stages' and 'stage_names'); turn the option off for this backbone."
        )
    return n


def apply_efficiency_options(model: nn.Module, channels_last: bool, activation_checkpoint: bool):
    """Apply the switches in place; returns ``model``."""
    if activation_checkpoint:
        checkpoint_backbone_stages(model)
    if channels_last:
        to_channels_last(model)
    return model
