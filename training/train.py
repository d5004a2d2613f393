"""Training loop: in-memory uint8 arrays, batch augmentation, SGD + cosine, a checkpoint every epoch.

Resumable: ``runs/<head>/last.pt`` holds model, optimiser, scheduler, RNG and epoch; rerunning the same
command continues from it. ``best.pt`` keeps the weights with the best validation accuracy.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .augment import augment_batch, jpeg_batch, random_erase
from .heads import HeadSpec
from .metrics import classification_report
from .model import HeadNet, OrdinalNet, consistency_loss, ordinal_loss
from .occluders import face_box_in_crop, occlude_batch, wear_batch

log = logging.getLogger(__name__)


@dataclass
class ArraySplit:
    x: np.ndarray  # N x C x S x S uint8
    y: np.ndarray  # N int64


def to_input(x_uint8: np.ndarray | torch.Tensor, spec: HeadSpec) -> torch.Tensor:
    x = torch.as_tensor(x_uint8).float().div_(255.0)
    return (x - spec.mean) / spec.std


def build_model(spec: HeadSpec) -> torch.nn.Module:
    if spec.ordinal:
        return OrdinalNet(spec.channels, len(spec.labels), width=spec.width, stages=spec.stages)
    return HeadNet(spec.channels, len(spec.labels), width=spec.width, stages=spec.stages)


@torch.no_grad()
def predict_proba(model: torch.nn.Module, x: np.ndarray, spec: HeadSpec, batch: int = 512) -> np.ndarray:
    model.eval()
    out = []
    for i in range(0, len(x), batch):
        inputs = to_input(x[i : i + batch], spec)
        p = F.softmax(model(inputs), dim=1)
        if spec.flip_average:  # as serving answers (services.classifier.heads.HeadModel.predict)
            p = (p + F.softmax(model(torch.flip(inputs, dims=[3])), dim=1)) / 2
        out.append(p.numpy())
    return np.concatenate(out) if out else np.zeros((0, len(spec.labels)), np.float32)


def _lr_at(step: int, total: int, warmup: int, peak: float) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * 0.5 * (1 + math.cos(math.pi * progress))


def _epoch_order(y: np.ndarray, balanced: bool, rng: np.random.Generator, balance_power: float = 0.0) -> np.ndarray:
    if balance_power > 0:  # partial balancing: each sample's weight is its class count to the -power
        counts = np.bincount(y)
        weights = counts[y].astype(float) ** -balance_power
        return rng.choice(len(y), size=len(y), replace=True, p=weights / weights.sum())
    if not balanced:
        return rng.permutation(len(y))
    # Each class drawn equally often: the epoch has len(y) draws.
    classes = np.unique(y)
    per = len(y) // len(classes)
    picks = [rng.choice(np.flatnonzero(y == c), size=per, replace=True) for c in classes]
    return rng.permutation(np.concatenate(picks))


def _network_batch(
    batch: np.ndarray, spec: HeadSpec, rng: np.random.Generator, gen: torch.Generator
) -> torch.Tensor:
    """uint8 crops (occluders already pasted) → the augmented, normalised float batch the network trains on."""
    if spec.jpeg_prob > 0:
        batch = jpeg_batch(batch, spec.jpeg_prob, rng)
    x = torch.as_tensor(batch).float().div_(255.0)
    x = augment_batch(x, spec.augment, gen)
    if spec.erase_prob > 0:
        x = random_erase(x, spec.erase_prob, gen)
    x = (x - spec.mean) / spec.std
    if spec.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def train_head(
    spec: HeadSpec,
    train: ArraySplit,
    val: ArraySplit,
    run_dir: Path,
    epochs: int,
    seed: int = 0,
    threads: int = 2,
) -> Path:
    """Train (or resume) and return the path of the best checkpoint."""
    torch.set_num_threads(threads)
    run_dir.mkdir(parents=True, exist_ok=True)
    last_path, best_path = run_dir / "last.pt", run_dir / "best.pt"
    metrics_log = run_dir / "metrics.jsonl"

    torch.manual_seed(seed)
    model = build_model(spec)
    if spec.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimiser = torch.optim.SGD(model.parameters(), lr=spec.lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    steps_per_epoch = max(1, len(train.y) // spec.batch_size)
    total_steps, warmup = steps_per_epoch * epochs, steps_per_epoch
    gen = torch.Generator().manual_seed(seed)
    start_epoch, best_acc = 0, -1.0
    if last_path.exists():
        state = torch.load(last_path, weights_only=False)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        gen.set_state(state["generator"])
        start_epoch, best_acc = state["epoch"] + 1, state["best_acc"]
        # The schedule is a pure function of (step, total): a changed epoch count bends the cosine from here on.
        log.info("resumed %s at epoch %d of %d (was planned for %d; best val acc %.4f)",
                 spec.name, start_epoch, epochs, state["epochs"], best_acc)

    donors = train.x[train.y == 1] if spec.wear_prob > 0 else train.x[:0]  # real masked crops (mask head)
    crop_box = face_box_in_crop(spec.input_size, spec.crop_margin, spec.region)  # where masks and sunglasses go
    for epoch in range(start_epoch, epochs):
        rng = np.random.default_rng(seed * 1000 + epoch)
        order = _epoch_order(train.y, spec.balanced, rng, spec.balance_power)
        model.train()
        t0, loss_sum, seen = time.time(), 0.0, 0
        for b in range(steps_per_epoch):
            idx = order[b * spec.batch_size : (b + 1) * spec.batch_size]
            step = epoch * steps_per_epoch + b
            for group in optimiser.param_groups:
                group["lr"] = _lr_at(step, total_steps, warmup, spec.lr)
            batch, batch_y = train.x[idx], train.y[idx]
            if spec.wear_prob > 0:
                batch, batch_y = wear_batch(batch, batch_y, donors, crop_box, spec.wear_prob, rng)
            if spec.occlude_mask_prob > 0 or spec.occlude_sunglasses_prob > 0:
                batch = occlude_batch(batch, crop_box, spec.occlude_mask_prob, spec.occlude_sunglasses_prob, rng)
            x = _network_batch(batch, spec, rng, gen)
            y = torch.as_tensor(batch_y)
            if spec.mixup_alpha > 0:
                lam = float(np.random.default_rng(step).beta(spec.mixup_alpha, spec.mixup_alpha))
                perm = torch.randperm(len(idx), generator=gen)
                logits = model(lam * x + (1 - lam) * x[perm])
                loss = lam * F.cross_entropy(logits, y, label_smoothing=spec.label_smoothing) + (1 - lam) * (
                    F.cross_entropy(logits, y[perm], label_smoothing=spec.label_smoothing))
            elif spec.ordinal and spec.mask_consistency > 0:
                # The same faces again, every one masked: both answers learn the label, and they are pulled
                # together, so a mask moves the tone less than any label boundary is wide.
                masked = occlude_batch(train.x[idx], crop_box, 1.0, spec.occlude_sunglasses_prob, rng)
                cumulative, cumulative_masked = model.cumulative_logits(x), model.cumulative_logits(
                    _network_batch(masked, spec, rng, gen))
                loss = 0.5 * (ordinal_loss(cumulative, y) + ordinal_loss(cumulative_masked, y)) + (
                    spec.mask_consistency * consistency_loss(cumulative, cumulative_masked))
            elif spec.ordinal:
                loss = ordinal_loss(model.cumulative_logits(x), y)
            else:
                loss = F.cross_entropy(model(x), y, label_smoothing=spec.label_smoothing)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            loss_sum += loss.item() * len(idx)
            seen += len(idx)
        proba = predict_proba(model, val.x, spec)
        report = classification_report(val.y, proba, spec.labels)
        acc = report[spec.select_on]
        row = {
            "epoch": epoch,
            "train_loss": loss_sum / max(1, seen),
            "val_accuracy": report["accuracy"],
            "val_macro_f1": report["macro_f1"],
            "seconds": round(time.time() - t0, 1),
        }
        log.info("%s %s", spec.name, json.dumps(row))
        with metrics_log.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        if acc > best_acc:
            best_acc = acc
            torch.save({"model": model.state_dict(), "epoch": epoch, "val_accuracy": report["accuracy"],
                        "val_" + spec.select_on: acc}, best_path)
            # The best-so-far ONNX, so a run cut short still leaves a usable head behind.
            from .export import export_onnx

            export_onnx(spec, model, run_dir / "best.onnx")
        state = {
            "model": model.state_dict(),
            "optimiser": optimiser.state_dict(),
            "generator": gen.get_state(),
            "epoch": epoch,
            "epochs": epochs,
            "best_acc": best_acc,
        }
        tmp = last_path.with_suffix(".tmp")
        torch.save(state, tmp)
        tmp.replace(last_path)
    return best_path
