"""bench/model_cost.py on every efficient / transformer model (toy hardshapes configs), and the
fvcore handle that counts MiT's fused attention."""

import sys

import pytest
import torch

from detectron2.modeling import build_model

from hardseg.modeling.backbone.mit import EfficientSelfAttention
from tests.common import REPO, tiny_cfg

sys.path.insert(0, str(REPO / "bench"))
from model_cost import count_flops, measure  # noqa: E402

CONFIGS = [
    "hardshapes/segformer_tiny_bs8_600it.yaml",
    "hardshapes/segnext_tiny_bs8_600it.yaml",
    "hardshapes/stdc1_tiny_bs8_600it.yaml",
    "hardshapes/topformer_T_bs8_600it.yaml",
    "hardshapes/regseg_exp48_bs8_600it.yaml",
    "hardshapes/sfnet_R18_bs8_600it.yaml",
]


@pytest.mark.parametrize("config", CONFIGS)
def test_model_cost_measures_the_model(config):
    res = measure(str(REPO / "configs" / config), batch=2, size=(64, 64), iters=1, warmup=0)
    n = sum(p.numel() for p in build_model(tiny_cfg(config=config)).parameters())
    assert abs(res["params_M"] * 1e6 - n) < 1
    assert res["gflops_per_image"] > 0 and res["train_step_s"] > 0


def test_fused_attention_flops_are_counted():
    """One multiply-add per flop: q, kv and output projections L*C*C, L*C*2C, L*C*C, and
    attention 2*L*L*C (q k^T and attn v), here with L = 64 tokens, C = 16, no reduction."""
    attn = EfficientSelfAttention(dim=16, num_heads=2, sr_ratio=1).eval()

    class Wrapper(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = attn

        def forward(self, x):
            return self.attn(x, 8, 8)

    L, C = 64, 16
    expected = L * C * C + L * C * 2 * C + L * C * C + 2 * L * L * C
    assert count_flops(Wrapper(), (torch.randn(1, L, C),)).total() == expected
