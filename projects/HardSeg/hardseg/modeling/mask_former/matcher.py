"""Hungarian matching of predicted masks to ground-truth masks (Mask2Former's ``HungarianMatcher``).

Dimension legend: N images; Q predictions per image; T_i targets of image i; K classes (K+1
logits, the last "no object"); P sampled points; (H4, W4) mask-logit size; (H, W) target size.
"""

from typing import Dict, List, Tuple

import torch
from scipy.optimize import linear_sum_assignment
from torch import nn

from detectron2.projects.point_rend.point_features import point_sample

from .point_losses import pairwise_bce_cost, pairwise_dice_cost

__all__ = ["HungarianMatcher", "min_cost_assignment"]


def min_cost_assignment(cost: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Rows and columns of the minimum-total-cost one-to-one assignment of a (Q, T) cost matrix
    (scipy's ``linear_sum_assignment``; every column is assigned when T <= Q). Returns two int64
    tensors of length min(Q, T), rows sorted."""
    if not torch.isfinite(cost).all():
        raise ValueError("matching cost has NaN or inf entries; check the mask logits.")
    rows, cols = linear_sum_assignment(cost.detach().cpu().numpy())
    return torch.as_tensor(rows, dtype=torch.int64), torch.as_tensor(cols, dtype=torch.int64)


class HungarianMatcher(nn.Module):
    """Cost = ``cost_class * (-p(class)) + cost_mask * BCE + cost_dice * Dice``, the mask terms on
    ``num_points`` points drawn uniformly at random (the same points for predictions and targets of
    an image), then :func:`min_cost_assignment` per image. No gradient flows through matching.

    forward(outputs {"pred_logits": (N, Q, K+1), "pred_masks": (N, Q, H4, W4)},
    targets [{"labels": (T_i,) int64, "masks": (T_i, H, W)}]) -> list of N pairs
    ``(prediction indices (min(Q, T_i),), target indices (min(Q, T_i),))``.
    """

    def __init__(
        self,
        cost_class: float = 2.0,
        cost_mask: float = 5.0,
        cost_dice: float = 5.0,
        num_points: int = 12544,
    ):
        super().__init__()
        if cost_class == 0 and cost_mask == 0 and cost_dice == 0:
            raise ValueError("all matching costs are 0.")
        self.cost_class, self.cost_mask, self.cost_dice = cost_class, cost_mask, cost_dice
        self.num_points = num_points

    def sample_coords(self, device) -> torch.Tensor:
        """(1, P, 2) point coordinates, uniform in [0, 1]^2."""
        return torch.rand(1, self.num_points, 2, device=device)

    def cost_matrix(self, logits, pred_masks, labels, tgt_masks) -> torch.Tensor:
        """(Q, K+1), (Q, H4, W4), (T,), (T, H, W) -> (Q, T) cost of one image."""
        prob = logits.float().softmax(-1)
        cost_class = -prob[:, labels]
        coords = self.sample_coords(pred_masks.device)
        tgt = point_sample(
            tgt_masks[:, None].float(), coords.expand(len(tgt_masks), -1, -1), align_corners=False
        )[:, 0]
        pred = point_sample(
            pred_masks[:, None].float(), coords.expand(len(pred_masks), -1, -1), align_corners=False
        )[:, 0]
        return (
            self.cost_class * cost_class
            + self.cost_mask * pairwise_bce_cost(pred, tgt)
            + self.cost_dice * pairwise_dice_cost(pred, tgt)
        )

    @torch.no_grad()
    def forward(
        self, outputs: Dict[str, torch.Tensor], targets: List[Dict[str, torch.Tensor]]
    ) -> List[Tuple[torch.Tensor, torch.Tensor]]:
        indices = []
        for b, target in enumerate(targets):
            if len(target["labels"]) == 0:
                empty = torch.zeros(0, dtype=torch.int64)
                indices.append((empty, empty))
                continue
            cost = self.cost_matrix(
                outputs["pred_logits"][b],
                outputs["pred_masks"][b],
                target["labels"],
                target["masks"],
            )
            indices.append(min_cost_assignment(cost))
        return indices
