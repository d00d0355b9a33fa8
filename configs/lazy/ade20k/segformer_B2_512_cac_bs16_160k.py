# Twin of configs/ade20k/semantic-segmentation/segformer_B2_512_cac_bs16_160k.yaml.
from ..common.models.cac import add_cac
from .segformer_B2_512_bs16_160k import dataloader, lr_multiplier, model, optimizer, train  # noqa

train.output_dir = "./output/ade20k/segformer_B2_512_cac_bs16_160k"
model = add_cac(
    model,
    num_classes=150,
    loss_weight=1.8,
    weight_loss_weight=2.0,
    warmup_iters=5000,
    temperature=0.1,
    cac_input="head_input",
    weight_branch="head",
)
