"""Region (overlap) losses from soft per-class counts: Dice, generalized Dice, soft IoU, Tversky,
focal Tversky, and the compositions CE + Dice, Combo and exponential logarithmic loss.

See docs/methods/losses.md §0, §5-§9, §13-§15. With ``p = softmax(z)`` (N, K, H, W), valid
mask ``v``, one-hot GT ``g_ic = [y_i = c] v_i`` and ``p~ = p v``, over a reduction set Omega (one
image, or the whole batch with ``batch=True``):
``TP_c = sum p~_c g_c``, ``P_c = sum p~_c``, ``G_c = sum g_c``, ``FP_c = P_c - TP_c``,
``FN_c = G_c - TP_c``. Ignored pixels enter no sum.

Class averaging (``class_avg``): ``"present"`` (default) averages over the classes with
``G_c > 0`` in the set; ``"all"`` over all K classes. The per-set losses are then averaged over
the sets (images) that have at least one valid pixel; a batch with no valid pixel gives 0.

These losses have no per-pixel form (no ``pixel_loss``), so HL cannot re-weight them.
"""

from typing import Optional, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .cross_entropy import PixelCrossEntropy, gt_log_prob

__all__ = [
    "soft_counts",
    "DiceLoss",
    "GeneralizedDiceLoss",
    "SoftIoULoss",
    "TverskyLoss",
    "FocalTverskyLoss",
    "CEDiceLoss",
    "ComboLoss",
    "ExpLogLoss",
    "CLASS_AVG_MODES",
]

CLASS_AVG_MODES = ("present", "all")


def masked_probs_onehot(logits: torch.Tensor, targets: torch.Tensor, ignore_value: int):
    """``(p~, g, v)``: masked softmax (N, K, H, W), masked one-hot (N, K, H, W), valid (N, H, W)."""
    k = logits.shape[1]
    valid = targets != ignore_value
    p = F.softmax(logits, dim=1) * valid.unsqueeze(1)
    idx = torch.where(valid, targets, torch.zeros_like(targets))
    g = F.one_hot(idx, k).permute(0, 3, 1, 2).to(p.dtype) * valid.unsqueeze(1)
    return p, g, valid


def soft_counts(logits: torch.Tensor, targets: torch.Tensor, ignore_value: int, batch=False):
    """Soft counts per set and class.

    Returns:
        ``(TP, P, G, P2, has_valid)``: each count (S, K) with S = N (per image) or 1 (``batch``);
        ``P2 = sum p~^2`` (for the squared Dice); ``has_valid`` (S,) bool.
    """
    p, g, valid = masked_probs_onehot(logits, targets, ignore_value)
    dims = (0, 2, 3) if batch else (2, 3)
    tp = (p * g).sum(dims)
    pp = p.sum(dims)
    gg = g.sum(dims)
    p2 = (p * p).sum(dims)
    has_valid = valid.flatten(1).any(1)
    if batch:
        tp, pp, gg, p2, has_valid = (t.unsqueeze(0) for t in (tp, pp, gg, p2, has_valid.any()))
    return tp, pp, gg, p2, has_valid


def class_average(
    per_class: torch.Tensor, gt_count, has_valid, class_avg: str, anchor, per_set_fn=None
):
    """Average a (S, K) per-class loss over classes (``class_avg``) and over the sets with a valid
    pixel; ``per_set_fn``, when given, maps the per-set class means before the mean over sets.
    ``anchor`` (a tensor in the graph) gives a 0 with a gradient when nothing is valid."""
    if class_avg == "present":
        mask = (gt_count > 0).to(per_class.dtype)
    else:
        mask = torch.ones_like(per_class)
    mask = mask * has_valid.unsqueeze(1).to(per_class.dtype)
    n_cls = mask.sum(1)
    use = n_cls > 0
    if not bool(use.any()):
        return anchor.sum() * 0.0
    per_set = (per_class * mask).sum(1)[use] / n_cls[use]
    if per_set_fn is not None:
        per_set = per_set_fn(per_set)
    return per_set.mean()


def safe_pow(x: torch.Tensor, exponent: float) -> torch.Tensor:
    """``x^exponent`` for ``x >= 0`` with a finite gradient: 0 (and no gradient) for x <= 1e-12."""
    return torch.where(x > 1e-12, x.clamp(min=1e-12) ** exponent, torch.zeros_like(x))


def _check_class_avg(class_avg):
    if class_avg not in CLASS_AVG_MODES:
        raise ValueError(f"class_avg={class_avg!r}; expected one of {CLASS_AVG_MODES}.")


class _RegionLoss(nn.Module):
    """Shared arguments: ``smooth`` (added to numerator and denominator), ``batch`` (reduce over
    the whole batch instead of per image), ``class_avg`` ("present" | "all")."""

    def __init__(self, ignore_value=255, smooth=1e-5, batch=False, class_avg="present"):
        super().__init__()
        _check_class_avg(class_avg)
        self.ignore_value = ignore_value
        self.smooth = float(smooth)
        self.batch = bool(batch)
        self.class_avg = class_avg

    def per_class_loss(self, tp, pp, gg, p2):
        raise NotImplementedError

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """logits (N, K, H, W), targets (N, H, W) -> scalar."""
        tp, pp, gg, p2, has_valid = soft_counts(logits, targets, self.ignore_value, self.batch)
        return class_average(
            self.per_class_loss(tp, pp, gg, p2), gg, has_valid, self.class_avg, logits
        )


class DiceLoss(_RegionLoss):
    """Soft Dice loss (docs/methods/losses.md §5).

    ``L = 1 - mean_c (2 TP_c + s) / (P_c + G_c + s)``; ``squared=True`` (V-Net) uses
    ``sum p~^2 + G_c`` in the denominator (g^2 = g); ``log_loss=True`` uses ``-log Dice_c``
    per class instead of ``1 - Dice_c``.

    Defaults: ``smooth=1e-5`` (MONAI's), per image, ``class_avg="present"``.
    """

    def __init__(
        self,
        ignore_value=255,
        smooth=1e-5,
        batch=False,
        class_avg="present",
        squared=False,
        log_loss=False,
    ):
        super().__init__(ignore_value, smooth, batch, class_avg)
        self.squared = bool(squared)
        self.log_loss = bool(log_loss)

    def dice(self, tp, pp, gg, p2):
        den = (p2 if self.squared else pp) + gg
        return (2 * tp + self.smooth) / (den + self.smooth)

    def per_class_loss(self, tp, pp, gg, p2):
        d = self.dice(tp, pp, gg, p2)
        return -torch.log(d.clamp(min=1e-12)) if self.log_loss else 1 - d


GDL_WEIGHT_TYPES = ("square", "simple", "uniform")


class GeneralizedDiceLoss(nn.Module):
    """Generalized Dice loss (Sudre et al. 2017; docs/methods/losses.md §6).

    Per image (or batch): ``L = 1 - (2 sum_c w_c TP_c + s) / (sum_c w_c (P_c + G_c) + s)`` with
    ``w_c = 1/G_c^2`` (``w_type="square"``), ``1/G_c`` ("simple") or 1 ("uniform"). Absent
    classes (``G_c = 0``, infinite weight) get the largest finite weight of the set (MONAI's
    rule). Then the mean over the sets with a valid pixel.

    Defaults: ``w_type="square"``, ``smooth=1e-5``, per image.
    """

    def __init__(self, ignore_value=255, smooth=1e-5, batch=False, w_type="square"):
        super().__init__()
        if w_type not in GDL_WEIGHT_TYPES:
            raise ValueError(f"generalized Dice w_type={w_type!r}; expected {GDL_WEIGHT_TYPES}.")
        self.ignore_value = ignore_value
        self.smooth = float(smooth)
        self.batch = bool(batch)
        self.w_type = w_type

    def forward(self, logits, targets):
        tp, pp, gg, _, has_valid = soft_counts(logits, targets, self.ignore_value, self.batch)
        if self.w_type == "uniform":
            w = torch.ones_like(gg)
        else:
            w = 1.0 / (gg * gg if self.w_type == "square" else gg)
            finite = torch.isfinite(w)
            max_w = torch.where(finite, w, torch.zeros_like(w)).max(dim=1, keepdim=True).values
            w = torch.where(finite, w, max_w)
        w = w.detach()
        num = 2 * (w * tp).sum(1) + self.smooth
        den = (w * (pp + gg)).sum(1) + self.smooth
        per_set = 1 - num / den
        if not bool(has_valid.any()):
            return logits.sum() * 0.0
        return per_set[has_valid].mean()


class SoftIoULoss(_RegionLoss):
    """Soft IoU / Jaccard loss (Rahman & Wang 2016; docs/methods/losses.md §7).

    ``L = 1 - mean_c (TP_c + s) / (P_c + G_c - TP_c + s)``. Defaults: ``smooth=1e-5``, per
    image, ``class_avg="present"``.
    """

    def per_class_loss(self, tp, pp, gg, p2):
        return 1 - (tp + self.smooth) / (pp + gg - tp + self.smooth)


def tversky_index(tp, pp, gg, fp_weight, fn_weight, smooth):
    """``TI_c = (TP + s) / (TP + a FP + b FN + s)``, a = ``fp_weight``, b = ``fn_weight``."""
    fp = pp - tp
    fn = gg - tp
    return (tp + smooth) / (tp + fp_weight * fp + fn_weight * fn + smooth)


class TverskyLoss(_RegionLoss):
    """Tversky loss (Salehi et al. 2017; docs/methods/losses.md §8).

    ``L = 1 - mean_c TI_c``, ``TI_c = (TP_c + s) / (TP_c + a FP_c + b FN_c + s)``, with
    ``a = fp_weight`` and ``b = fn_weight`` (named by what they weight, to avoid the alpha/beta
    naming trap). a = b = 0.5 is Dice, a = b = 1 is IoU.

    Defaults: ``fp_weight=0.3``, ``fn_weight=0.7`` (Salehi's recall-oriented setting),
    ``smooth=1e-5``, per image, ``class_avg="present"``.
    """

    def __init__(
        self,
        ignore_value=255,
        smooth=1e-5,
        batch=False,
        class_avg="present",
        fp_weight=0.3,
        fn_weight=0.7,
    ):
        super().__init__(ignore_value, smooth, batch, class_avg)
        self.fp_weight = float(fp_weight)
        self.fn_weight = float(fn_weight)

    def per_class_loss(self, tp, pp, gg, p2):
        return 1 - tversky_index(tp, pp, gg, self.fp_weight, self.fn_weight, self.smooth)


FOCAL_TVERSKY_POWER = ("per_class", "after_mean")


class FocalTverskyLoss(TverskyLoss):
    """Focal Tversky loss (Abraham & Khan 2019; docs/methods/losses.md §9).

    ``power="per_class"`` (default): ``L = mean_c (1 - TI_c)^kappa``; ``power="after_mean"``
    (smp / SegLossOdyssey preset): ``L = (mean_c (1 - TI_c))^kappa``, per set, then the mean
    over sets. ``kappa = 1/gamma`` of the paper (gamma = 4/3 -> kappa = 0.75). ``x^kappa`` is
    :func:`safe_pow` (0 below 1e-12), so the gradient stays finite at a perfect prediction.

    Defaults: ``exponent=0.75``, ``fp_weight=0.3``, ``fn_weight=0.7``, ``smooth=1e-5``.
    """

    def __init__(
        self,
        ignore_value=255,
        smooth=1e-5,
        batch=False,
        class_avg="present",
        fp_weight=0.3,
        fn_weight=0.7,
        exponent=0.75,
        power="per_class",
    ):
        super().__init__(ignore_value, smooth, batch, class_avg, fp_weight, fn_weight)
        if power not in FOCAL_TVERSKY_POWER:
            raise ValueError(f"focal Tversky power={power!r}; expected {FOCAL_TVERSKY_POWER}.")
        self.exponent = float(exponent)
        self.power = power

    def per_class_loss(self, tp, pp, gg, p2):
        one_minus = super().per_class_loss(tp, pp, gg, p2)
        return safe_pow(one_minus, self.exponent) if self.power == "per_class" else one_minus

    def forward(self, logits, targets):
        if self.power == "per_class":
            return super().forward(logits, targets)
        tp, pp, gg, p2, has_valid = soft_counts(logits, targets, self.ignore_value, self.batch)
        per_class = self.per_class_loss(tp, pp, gg, p2)
        return class_average(
            per_class,
            gg,
            has_valid,
            self.class_avg,
            logits,
            per_set_fn=lambda per_set: safe_pow(per_set, self.exponent),
        )


class CEDiceLoss(nn.Module):
    """Cross-entropy plus Dice (docs/methods/losses.md §13): ``L = lambda_ce L_CE + lambda_dice
    L_Dice``, both with the same ignore mask (:class:`PixelCrossEntropy`,
    :class:`DiceLoss` with its defaults).

    Defaults: ``lambda_ce=1``, ``lambda_dice=1``, ``smooth=1e-5``, ``class_avg="present"``.
    """

    def __init__(
        self, ignore_value=255, lambda_ce=1.0, lambda_dice=1.0, smooth=1e-5, class_avg="present"
    ):
        super().__init__()
        self.lambda_ce = float(lambda_ce)
        self.lambda_dice = float(lambda_dice)
        self.ce = PixelCrossEntropy(ignore_value)
        self.dice = DiceLoss(ignore_value, smooth=smooth, class_avg=class_avg)

    def forward(self, logits, targets):
        return self.lambda_ce * self.ce(logits, targets) + self.lambda_dice * self.dice(
            logits, targets
        )


class ComboLoss(nn.Module):
    """Combo loss (Taghanaki et al. 2019; docs/methods/losses.md §14), multi-class one-vs-rest.

    Per set and class: ``wBCE_c = -(1/N_v) sum_i [beta g_ic log p_ic + (1 - beta)(1 - g_ic)
    log(1 - p_ic)]`` over valid pixels (``p`` clamped to [1e-7, 1 - 1e-7]) and
    ``Dice_c = (2 TP_c + s) / (P_c + G_c + s)``; ``L = mean_c [alpha wBCE_c - (1 - alpha) Dice_c]``
    over the averaging set, then over sets. Dice enters with a minus sign (not ``1 - Dice``), so
    the loss can be negative; its minimum is ``-(1 - alpha)``.

    Defaults: ``alpha=0.5``, ``beta=0.5``, ``smooth=1.0``, per image, ``class_avg="present"``.
    """

    def __init__(self, ignore_value=255, alpha=0.5, beta=0.5, smooth=1.0, class_avg="present"):
        super().__init__()
        _check_class_avg(class_avg)
        self.ignore_value = ignore_value
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.smooth = float(smooth)
        self.class_avg = class_avg

    def forward(self, logits, targets):
        p, g, valid = masked_probs_onehot(logits, targets, self.ignore_value)
        v = valid.unsqueeze(1).to(p.dtype)
        pc = p.clamp(1e-7, 1 - 1e-7)
        bce = -(self.beta * g * torch.log(pc) + (1 - self.beta) * (1 - g) * torch.log(1 - pc)) * v
        n_valid = valid.flatten(1).sum(1).clamp(min=1).to(p.dtype)
        wbce = bce.sum((2, 3)) / n_valid.unsqueeze(1)
        tp, pp, gg = (p * g).sum((2, 3)), p.sum((2, 3)), g.sum((2, 3))
        dice = (2 * tp + self.smooth) / (pp + gg + self.smooth)
        per_class = self.alpha * wbce - (1 - self.alpha) * dice
        return class_average(per_class, gg, valid.flatten(1).any(1), self.class_avg, logits)


EXP_LOG_FORMS = ("paper", "seglossodyssey")


class ExpLogLoss(nn.Module):
    """Exponential logarithmic loss (Wong et al., MICCAI 2018; docs/methods/losses.md §15).

    ``form="paper"`` (default): ``L = w_dice E_c[(-ln Dice_c)^gamma_dice]
    + w_cross E_i[w_{y_i} (-ln q_i)^gamma_cross]`` with ``Dice_c = (2 TP_c + s)/(P_c + G_c + s)``
    per image (``E_c`` over the averaging set, then over images) and ``E_i`` over the valid pixels
    of the batch. ``form="seglossodyssey"``: ``w_dice (-ln max(mean_c Dice_c, 1e-6))^gamma_dice
    + w_cross * (class-weighted CE)``, the exponent on the class-averaged Dice and none on CE.

    Label weights ``w_l``: ``class_weights`` if given (the paper uses
    ``((sum_k f_k)/f_l)^0.5`` of the class frequencies f), else 1. ``-ln`` arguments are clamped
    at 1e-12 (1e-6 for the Dice of the SegLossOdyssey form), and ``x^gamma`` is 0 for x <= 1e-12
    (:func:`safe_pow`, finite gradients at a perfect prediction).

    Defaults (paper): ``w_dice=0.8``, ``w_cross=0.2``, ``gamma_dice=0.3``, ``gamma_cross=0.3``,
    ``smooth=1.0``.
    """

    def __init__(
        self,
        ignore_value=255,
        w_dice=0.8,
        w_cross=0.2,
        gamma_dice=0.3,
        gamma_cross=0.3,
        smooth=1.0,
        class_weights: Optional[Sequence[float]] = None,
        form="paper",
        class_avg="present",
    ):
        super().__init__()
        if form not in EXP_LOG_FORMS:
            raise ValueError(f"exp-log loss form={form!r}; expected one of {EXP_LOG_FORMS}.")
        _check_class_avg(class_avg)
        self.ignore_value = ignore_value
        self.w_dice, self.w_cross = float(w_dice), float(w_cross)
        self.gamma_dice, self.gamma_cross = float(gamma_dice), float(gamma_cross)
        self.smooth = float(smooth)
        self.form = form
        self.class_avg = class_avg
        self.ce = PixelCrossEntropy(ignore_value, class_weights=class_weights)

    def forward(self, logits, targets):
        tp, pp, gg, _, has_valid = soft_counts(logits, targets, self.ignore_value)
        dice = (2 * tp + self.smooth) / (pp + gg + self.smooth)
        valid = targets != self.ignore_value
        if self.form == "paper":
            ln_dice = safe_pow(-torch.log(dice.clamp(min=1e-12)), self.gamma_dice)
            dice_term = class_average(ln_dice, gg, has_valid, self.class_avg, logits)
            ce = -gt_log_prob(logits, targets, self.ignore_value)  # -ln q_i, 0 when ignored
            w = self.ce._weights(logits)
            if w is None:
                w_pix = torch.ones_like(ce)
            else:
                w_pix = w[torch.where(valid, targets, torch.zeros_like(targets))]
            ce_term = (w_pix * safe_pow(ce, self.gamma_cross) * valid).sum()
            ce_term = ce_term / valid.sum().clamp(min=1)
        else:
            mean_dice = class_average(dice, gg, has_valid, self.class_avg, logits)
            if not bool(has_valid.any()):
                mean_dice = mean_dice + 1.0  # no valid pixel: Dice term 0
            dice_term = safe_pow(-torch.log(mean_dice.clamp(min=1e-6)), self.gamma_dice)
            ce_term = self.ce(logits, targets)
        return self.w_dice * dice_term + self.w_cross * ce_term
