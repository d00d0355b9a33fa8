# Twin of configs/ade20k/semantic-segmentation/segformer_B5_640_cac_bs8_320k.yaml.
from ..common.models.cac import add_cac
from .segformer_B5_512_bs16_160k import dataloader, lr_multiplier, model, optimizer, train  # noqa

train.output_dir = "./output/ade20k/segformer_B5_640_cac_bs8_320k"
model = add_cac(
    model,
    num_classes=150,
    loss_weight=1.8,
    weight_loss_weight=2.0,
    warmup_iters=0,
    temperature=0.1,
    cac_input="head_input",
    weight_branch="head",
)

# The official B5 recipe: 640x640 crops, batch 8, 320k iterations, lr 3e-5 (head x10), 3000 warm-up.
dataloader.train.mapper.augmentations[0].short_edge_length = [
    int(x * 0.1 * 640) for x in range(5, 21)
]
dataloader.train.mapper.augmentations[1].crop_size = (640, 640)
dataloader.train.total_batch_size = 8
dataloader.test.mapper.augmentations[0].short_edge_length = 640
optimizer.lr = 3e-4
train.max_iter = 320000
lr_multiplier.update(warmup_length=3000 / 320000)
