"""The ordinal head and loss (pure torch): valid distributions, and far misses cost more than near ones."""

from __future__ import annotations

import torch

from training.model import OrdinalNet, TemperatureScaled, consistency_loss, ordinal_loss


def test_forward_gives_log_probabilities_over_the_classes() -> None:
    net = OrdinalNet(3, 5, width=4, stages=2).eval()
    logp = net(torch.rand(4, 3, 32, 32))
    assert logp.shape == (4, 5)
    assert torch.allclose(logp.exp().sum(1), torch.ones(4), atol=1e-5)


def test_loss_grows_with_the_distance_of_the_miss() -> None:
    confident_step_two = torch.tensor([[8.0, 8.0, -8.0, -8.0]])  # P(y > 0), P(y > 1) high; P(y > 2) low → y = 2
    losses = [ordinal_loss(confident_step_two, torch.tensor([k])).item() for k in range(5)]
    assert losses[2] < losses[1] < losses[0]
    assert losses[2] < losses[3] < losses[4]


def test_temperature_divides_the_logits() -> None:
    base = torch.nn.Linear(2, 3)
    scaled = TemperatureScaled(base, 2.0)
    x = torch.rand(5, 2)
    assert torch.allclose(scaled(x), base(x) / 2.0)


def test_consistency_is_zero_for_equal_answers_and_grows_with_the_gap() -> None:
    a = torch.tensor([[4.0, 2.0, -1.0, -3.0]])
    assert consistency_loss(a, a.clone()).item() == 0.0
    one_step = consistency_loss(a, torch.tensor([[4.0, 2.0, 3.0, -3.0]])).item()  # one threshold flipped
    two_steps = consistency_loss(a, torch.tensor([[4.0, 2.0, 3.0, 3.0]])).item()
    assert 0.0 < one_step < two_steps
    b = torch.tensor([[4.0, 2.0, 3.0, -3.0]], requires_grad=True)
    consistency_loss(a, b).backward()
    assert b.grad is not None and b.grad[0, 2] > 0  # pulled down towards a's answer
