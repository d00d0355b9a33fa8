# Twin of configs/hardshapes/segformer_tiny_cac_bs8_600it.yaml (the toy SegFormer + CAC).
from ..common.models.cac import add_cac
from .segformer_tiny_bs8_600it import dataloader, lr_multiplier, model, optimizer, train  # noqa

train.output_dir = "./output/hardshapes/segformer_tiny_cac_bs8_600it"
model = add_cac(
    model,
    num_classes=7,
    loss_weight=1.8,
    weight_loss_weight=1.5,
    temperature=0.1,
    norm="BN",
    threshold=20,
    cac_input="head_input",
    weight_branch="head",
)
