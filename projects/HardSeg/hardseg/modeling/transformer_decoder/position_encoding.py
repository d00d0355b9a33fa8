"""Sine positional encoding of a feature map (DETR's ``PositionEmbeddingSine``, normalised)."""

import math

import torch
from torch import nn

__all__ = ["PositionEmbeddingSine"]


class PositionEmbeddingSine(nn.Module):
    """Fixed 2-D sine/cosine encoding: ``num_pos_feats`` channels for y then ``num_pos_feats``
    for x. With ``normalize`` the coordinates 1..H (1..W) are divided by H (W) and scaled to
    (0, ``scale``] before the frequencies ``temperature ** (2 floor(i / 2) / num_pos_feats)``.

    forward(x (N, C, H, W)) -> (N, 2 * num_pos_feats, H, W), in x's dtype; no parameters.
    """

    def __init__(self, num_pos_feats=128, temperature=10000, normalize=True, scale=2 * math.pi):
        super().__init__()
        self.num_pos_feats, self.temperature = num_pos_feats, temperature
        self.normalize, self.scale = normalize, scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        y_embed = torch.arange(1, h + 1, device=x.device, dtype=torch.float32)
        x_embed = torch.arange(1, w + 1, device=x.device, dtype=torch.float32)
        if self.normalize:
            eps = 1e-6
            y_embed = y_embed / (h + eps) * self.scale
            x_embed = x_embed / (w + eps) * self.scale
        i = torch.arange(self.num_pos_feats, device=x.device, dtype=torch.float32)
        dim_t = self.temperature ** (
            2 * torch.div(i, 2, rounding_mode="floor") / self.num_pos_feats
        )
        pos_y = y_embed[:, None] / dim_t  # (H, F)
        pos_x = x_embed[:, None] / dim_t  # (W, F)
        # interleave sin (even channels) and cos (odd channels)
        pos_y = torch.stack([pos_y[:, 0::2].sin(), pos_y[:, 1::2].cos()], dim=2).flatten(1)
        pos_x = torch.stack([pos_x[:, 0::2].sin(), pos_x[:, 1::2].cos()], dim=2).flatten(1)
        pos = torch.cat(
            [
                pos_y[:, None, :].expand(h, w, self.num_pos_feats),
                pos_x[None, :, :].expand(h, w, self.num_pos_feats),
            ],
            dim=2,
        )  # (H, W, 2F)
        return pos.permute(2, 0, 1).unsqueeze(0).expand(n, -1, -1, -1).to(x.dtype)
