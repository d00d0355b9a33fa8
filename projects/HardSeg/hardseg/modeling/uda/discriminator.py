"""AdaptSegNet's fully convolutional discriminator on softmax maps (HIAST's warm-up,
docs/methods/hiast.md §3)."""

from torch import nn

__all__ = ["FCDiscriminator"]


class FCDiscriminator(nn.Module):
    """(N, K, H, W) class probabilities -> (N, 1, H/32, W/32) domain logits: four 4x4 stride-2
    convs with ``channels`` x (1, 2, 4, 8) outputs, each followed by LeakyReLU(0.2), then a 4x4
    stride-2 conv to one channel."""

    def __init__(self, num_classes: int, channels: int = 64):
        super().__init__()
        widths = [num_classes] + [channels * m for m in (1, 2, 4, 8)]
        layers = []
        for cin, cout in zip(widths[:-1], widths[1:]):
            layers += [nn.Conv2d(cin, cout, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        layers.append(nn.Conv2d(widths[-1], 1, 4, stride=2, padding=1))
        self.layers = nn.Sequential(*layers)

    def forward(self, probs):
        return self.layers(probs)
