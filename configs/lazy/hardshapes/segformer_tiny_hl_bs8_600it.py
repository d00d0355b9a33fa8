# Twin of configs/hardshapes/segformer_tiny_hl_bs8_600it.yaml (the toy SegFormer + HL).
from ..common.models.hardness import add_hardness
from .segformer_tiny_bs8_600it import dataloader, lr_multiplier, model, optimizer, train  # noqa

train.output_dir = "./output/hardshapes/segformer_tiny_hl_bs8_600it"
model = add_hardness(model, eps=0.1, loss_weight=0.01, vis_period=100)
