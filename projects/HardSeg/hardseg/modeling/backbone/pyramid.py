"""The four-stage pyramid shared by MiT (SegFormer) and MSCAN (SegNeXt).

Stage i (1..4) is ``patch_embed{i}`` (a strided, overlapping patch embedding), ``block{i}`` (an
``nn.ModuleList`` of blocks, stochastic depth rising linearly from 0 over all blocks) and
``norm{i}``; its output map is ``res2..res5`` (strides 4, 8, 16, 32). These are the official
module names of both releases, so their checkpoints map by name. A subclass builds its stages with
:meth:`PyramidEncoder.add_stages` and says in :meth:`PyramidEncoder.stage` how one stage runs.
"""

from typing import Callable, Dict, Sequence

import torch
from torch import nn

from detectron2.modeling import Backbone

__all__ = ["STAGE_NAMES", "PyramidEncoder", "init_weights"]

STAGE_NAMES = ("res2", "res3", "res4", "res5")


def init_weights(m: nn.Module) -> None:
    """Truncated-normal (std 0.02) linears, unit LayerNorms, He-normal (fan-out) convolutions."""
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)
    elif isinstance(m, nn.Conv2d):
        fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
        nn.init.normal_(m.weight, 0.0, (2.0 / fan_out) ** 0.5)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


class PyramidEncoder(Backbone):
    """``forward(images (N, C_in, H, W))`` -> ``{"res2": (N, C_0, H/4, W/4), ..., "res5": (N, C_3,
    H/32, W/32)}`` restricted to ``out_features`` (sizes rounded up); ``output_shape`` is
    detectron2's default over ``_out_feature_channels`` / ``_out_feature_strides``.

    Args:
        node: the config node named in errors (``"MIT"`` for ``MODEL.MIT.*``).
        out_features: subset of res2..res5.
        per_stage: ``KEY=values`` that must hold 4 values (one per stage), checked in order.
    """

    def __init__(self, node: str, out_features: Sequence[str], **per_stage: Sequence):
        super().__init__()
        for key, v in per_stage.items():
            if len(v) != 4:
                raise ValueError(f"MODEL.{node}.{key} needs 4 values (one per stage), got {v}.")
        unknown = set(out_features) - set(STAGE_NAMES)
        if unknown:
            raise ValueError(f"MODEL.{node}.OUT_FEATURES: {sorted(unknown)} not in {STAGE_NAMES}.")
        self._out_features = list(out_features)
        self._out_feature_strides = {n: 2 ** (i + 2) for i, n in enumerate(STAGE_NAMES)}

    def add_stages(
        self,
        in_channels: int,
        embed_dims: Sequence[int],
        depths: Sequence[int],
        drop_path_rate: float,
        embed: Callable[[int, int, int], nn.Module],
        block: Callable[[int, float], nn.Module],
        norm: Callable[[int], nn.Module],
    ) -> None:
        """Add ``patch_embed{i}`` = ``embed(stage, in, out channels)``, ``block{i}`` = [``block(
        stage, drop-path rate)`` x depths[stage]] and ``norm{i}`` = ``norm(channels)``, stage by
        stage (stage counted from 0, i = stage + 1)."""
        rates = torch.linspace(0, drop_path_rate, sum(depths), device="cpu").tolist()
        prev, start = in_channels, 0
        for s in range(4):
            self.add_module(f"patch_embed{s + 1}", embed(s, prev, embed_dims[s]))
            blocks = [block(s, rates[start + j]) for j in range(depths[s])]
            self.add_module(f"block{s + 1}", nn.ModuleList(blocks))
            self.add_module(f"norm{s + 1}", norm(embed_dims[s]))
            prev, start = embed_dims[s], start + depths[s]
        self._out_feature_channels = dict(zip(STAGE_NAMES, embed_dims))

    def stage(self, i: int, x: torch.Tensor) -> torch.Tensor:
        """Stage ``i`` (1..4): the previous map (or the images) -> this stage's map."""
        raise NotImplementedError

    @property
    def size_divisibility(self) -> int:
        return 32

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        out = {}
        for i, name in enumerate(STAGE_NAMES):
            x = self.stage(i + 1, x)
            if name in self._out_features:
                out[name] = x
        return out
