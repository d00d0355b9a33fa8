"""Half-frozen BatchNorm: affine parameters fixed, running statistics still updated
(docs/methods/hiast.md §10 #2)."""

from torch import nn

__all__ = ["freeze_bn_affine_"]


def freeze_bn_affine_(model: nn.Module) -> int:
    """Set ``requires_grad=False`` on the weight and bias of every BatchNorm / SyncBatchNorm of
    ``model`` (train-mode forwards still update their running statistics). Returns how many
    norm layers were touched. FrozenBatchNorm2d has no trainable affine and is skipped."""
    n = 0
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
            m.weight.requires_grad_(False)
            m.bias.requires_grad_(False)
            n += 1
    return n
