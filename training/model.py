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


class OrdinalNet(nn.Module):
    """An ordinal head over ``K`` ordered classes: a :class:`HeadNet` trunk with ``K - 1`` cumulative logits
    ``z_k = logit P(y > k)``. ``forward`` returns class *log*-probabilities ``N x K``
    (``P(y = k) = P(y > k - 1) - P(y > k)``, clamped and renormalised), so the exported ONNX needs no change on
    the serving side: its softmax of these is the class distribution itself."""

    def __init__(self, in_channels: int, num_classes: int, width: int = 16, stages: int = 4):
        super().__init__()
        self.trunk = HeadNet(in_channels, num_classes - 1, width=width, stages=stages)

    def cumulative_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        above = torch.sigmoid(self.cumulative_logits(x))  # N x (K-1): P(y > k)
        ones = torch.ones_like(above[:, :1])
        zeros = torch.zeros_like(above[:, :1])
        p = (torch.cat([ones, above], 1) - torch.cat([above, zeros], 1)).clamp_min(1e-6)
        return torch.log(p / p.sum(dim=1, keepdim=True))


def ordinal_loss(cumulative_logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Sum over thresholds of binary cross-entropy on ``y > k`` (neighbouring classes cost one term, far
    ones several): ``cumulative_logits`` ``N x (K-1)``, ``y`` ``N`` int64."""
    k = torch.arange(cumulative_logits.shape[1], device=y.device)
    targets = (y[:, None] > k[None, :]).float()
    return torch.nn.functional.binary_cross_entropy_with_logits(cumulative_logits, targets, reduction="none").sum(1).mean()


def consistency_loss(cumulative_a: torch.Tensor, cumulative_b: torch.Tensor) -> torch.Tensor:
    """How far two views of the same faces disagree: the squared gaps between their ``P(y > k)``, summed over
    the thresholds, averaged over faces (0 when the two answers are the same distribution)."""
    return (torch.sigmoid(cumulative_a) - torch.sigmoid(cumulative_b)).pow(2).sum(1).mean()


class TemperatureScaled(nn.Module):
    """``model``'s logits divided by a fitted temperature: calibrated probabilities, baked into the ONNX."""

    def __init__(self, model: nn.Module, temperature: float):
        super().__init__()
        self.model = model
        self.register_buffer("inv_temperature", torch.tensor(1.0 / temperature))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) * self.inv_temperature
