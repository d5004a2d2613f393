"""The head architecture: a small VGG-style CNN (conv-BN-ReLU pairs, max-pool, global average pool).

``width`` scales every stage; ``stages`` is how many conv pairs (each halves the side). For 48x48 grey with
width 32 and 4 stages the emotion head has about 1.2 M parameters (≈ 4.7 MB as float32 ONNX).
"""

from __future__ import annotations

import torch
from torch import nn


def _conv_bn(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class HeadNet(nn.Module):
    """Input ``N x C x S x S`` float32 (normalised as the manifest says); output ``N x classes`` logits."""

    def __init__(self, in_channels: int, num_classes: int, width: int = 32, stages: int = 4, dropout: float = 0.3):
        super().__init__()
        layers: list[nn.Module] = []
        cin = in_channels
        for i in range(stages):
            cout = width * (2**i)
            layers += _conv_bn(cin, cout) + _conv_bn(cout, cout) + [nn.MaxPool2d(2)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(cin, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(x)))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
