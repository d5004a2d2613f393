"""One head from data to ONNX: samples → framed arrays → train → test report → export + card."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch

from .data import Sample, subset as take_subset
from .framing import build_arrays
from .heads import HeadSpec
from .metrics import classification_report
from .train import ArraySplit, build_model, predict_proba, train_head

log = logging.getLogger(__name__)


def prepare(spec: HeadSpec, cache_dir: Path, subset: int | None) -> tuple[list[Sample], np.ndarray, np.ndarray]:
    """Samples, framed inputs and labels (skin tone labels derived here), all splits together."""
    samples = take_subset(spec.samples(), subset)
    x, counts = build_arrays(samples, spec, cache_dir, use_detector=spec.colour == "rgb")
    y = np.array([s.label for s in samples], dtype=np.int64)
    if spec.name == "skin_tone":
        from .skin_tone import tone_labels

        y = tone_labels(x)
    if spec.name == "eyewear":
        from .synthetic_eyewear import synthetic_eyewear_split

        sx, sy, ss = synthetic_eyewear_split(spec, cache_dir, subset)
        samples = samples + ss
        x, y = np.concatenate([x, sx]), np.concatenate([y, sy])
    log.info("%s: %d samples, framing %s", spec.name, len(samples), counts)
    return samples, x, y


def split_arrays(samples: list[Sample], x: np.ndarray, y: np.ndarray, split: str) -> ArraySplit:
    keep = np.array([s.split == split for s in samples]) & (y >= 0)
    return ArraySplit(x[keep], y[keep])


def run_head(
    spec: HeadSpec,
    run_dir: Path,
    models_dir: Path,
    epochs: int | None,
    subset: int | None,
    threads: int,
    export: bool,
) -> dict:
    epochs = epochs or spec.epochs
    cache_dir = run_dir.parent / "cache"
    samples, x, y = prepare(spec, cache_dir, subset)
    train = split_arrays(samples, x, y, "train")
    # Synthetic images train only; selection and test use real images.
    val = split_arrays(samples, x, y, "val")
    log.info("%s: train %d, val %d, test %d", spec.name, len(train.y), len(val.y), int(
        sum(s.split == "test" for s in samples)))
    best = train_head(spec, train, val, run_dir, epochs=epochs, threads=threads)
    model = build_model(spec)
    model.load_state_dict(torch.load(best, weights_only=False)["model"])
    model.eval()
    test = split_arrays(samples, x, y, "test")
    report = classification_report(test.y, predict_proba(model, test.x, spec), spec.labels)
    (run_dir / "test_report.json").write_text(json.dumps(report, indent=2))
    log.info("%s test accuracy %.4f macro-F1 %.4f", spec.name, report["accuracy"], report["macro_f1"])
    if export:
        from .export import export_head

        export_head(spec, model, run_dir, models_dir, samples, x, y, report)
    return report
