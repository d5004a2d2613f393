"""What one training step of a head costs on this machine's CPU, under the options worth trying (issue #12).

    python bench/bench_train_step.py [--head emotion] [--steps 20] [--threads 1]

Times, in alternating rounds of one run, a full step (augmentation of a uint8 batch, forward, backward, SGD) of
the head's recipe net for: NCHW fp32, channels-last fp32, channels-last with bf16 autocast, and channels-last
under ``torch.compile`` (when it compiles here); and the augmentation alone. Prints ms per step, the implied
seconds per epoch of the head's training set, and each option's ratio to NCHW fp32.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from training.augment import augment_batch, random_erase
from training.heads import HEADS
from training.train import build_model

EPOCH_IMAGES = {"emotion": 28_709 + 2_000}  # FER2013 Training + TFEID train (about); other heads: one batch count


def augmented_batch(spec, rng: np.random.Generator, gen: torch.Generator) -> torch.Tensor:
    """A random uint8 batch of the head's shape through the recipe's augmentation, normalised."""
    batch = rng.integers(0, 256, (spec.batch_size, spec.channels, spec.input_size, spec.input_size), np.uint8)
    x = augment_batch(torch.as_tensor(batch).float().div_(255.0), spec.augment, gen)
    if spec.erase_prob > 0:
        x = random_erase(x, spec.erase_prob, gen)
    return (x - spec.mean) / spec.std


def make_step(spec, channels_last: bool, bf16: bool, compiled: bool):
    model = build_model(spec)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    forward = torch.compile(model) if compiled else model
    optimiser = torch.optim.SGD(model.parameters(), lr=spec.lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    gen = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(0)

    def step() -> None:
        x = augmented_batch(spec, rng, gen)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        y = torch.as_tensor(rng.integers(0, len(spec.labels), spec.batch_size))
        autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
        with autocast:
            loss = F.cross_entropy(forward(x), y, label_smoothing=spec.label_smoothing)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()

    return step


def augment_only(spec):
    gen = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(0)

    def step() -> None:
        augmented_batch(spec, rng, gen)

    return step


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--head", default="emotion", choices=sorted(HEADS))
    parser.add_argument("--steps", type=int, default=20, help="timed steps per option per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    spec = HEADS[args.head]
    options = {
        "nchw fp32": make_step(spec, False, False, False),
        "channels-last fp32": make_step(spec, True, False, False),
        "channels-last bf16 autocast": make_step(spec, True, True, False),
    }
    try:
        compiled = make_step(spec, True, False, True)
        compiled()  # compile once, outside the timing
        options["channels-last torch.compile"] = compiled
    except Exception as exc:  # noqa: BLE001 - a compiler missing on the machine is a result to print
        print(f"torch.compile: not usable here ({type(exc).__name__}: {str(exc)[:120]})")
    options["augmentation only"] = augment_only(spec)
    times: dict[str, list[float]] = {name: [] for name in options}
    for name, step in options.items():
        step()  # warm-up
    for _ in range(args.rounds):
        for name, step in options.items():
            for _ in range(args.steps):
                t0 = time.perf_counter()
                step()
                times[name].append((time.perf_counter() - t0) * 1000)
    steps_per_epoch = EPOCH_IMAGES.get(args.head, spec.batch_size * 100) / spec.batch_size
    base = statistics.median(times["nchw fp32"])
    print(f"{args.head}: batch {spec.batch_size}, {spec.input_size} px, width {spec.width}, {args.threads} thread(s), "
          f"{args.rounds} alternating rounds of {args.steps} steps")
    print(f"{'option':30s} {'ms/step p50':>12s} {'s/epoch':>9s} {'vs nchw fp32':>13s}")
    for name, t in times.items():
        median = statistics.median(t)
        print(f"{name:30s} {median:12.1f} {median * steps_per_epoch / 1000:9.0f} {median / base:12.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
