"""Tone head variants compared on val, per FairFace group: the tables of the skin-tone card's "Tried and not
shipped" sections.

    python -m training.tone_val shipped                      # models/skin_tone.onnx, mirror-averaged as served
    python -m training.tone_val tone48 --size 48 --train     # train the recipe at 48 px (no export), then report
    python -m training.tone_val tone48r5 --size 48 --tone-round --train
    python -m training.tone_val tone48 --size 48             # report an earlier run's best.pt again

Val is the val split of labelling rounds 1-4 (824 faces; round 5's faces are left out of the figures even
when they train, so every variant is judged on the same faces), framed as training frames them (res10's box,
the whole image where res10 finds none). Reported: exact and within-one agreement, within-one per FairFace race
x gender group and the lowest of them, and how often a pasted black, white or light-blue mask leaves the
answered step unchanged. Runs live in ``<runs-dir>/<name>`` (checkpoints every epoch, resumable); the report
is written beside them as ``val_groups.json``. The held-out test split is never read here.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from services.classifier.heads import HeadModel, load_manifest
from services.settings import REPO_ROOT

from .data import Sample, samples_for_skin_tone
from .evaluate_tone import MASK_STYLES_TESTED
from .heads import HEADS, HeadSpec
from .occluders import face_box_in_crop, paste_mask
from .pipeline import prepare, split_arrays
from .train import build_model, predict_proba, to_input, train_head

log = logging.getLogger(__name__)

Proba = Callable[[np.ndarray], np.ndarray]  # N x 3 x S x S uint8 crops -> N x 5 probabilities


def val_mask(samples: list[Sample], y: np.ndarray, judged: set[tuple[str, str]]) -> np.ndarray:
    """Which rows are judged val faces among ``judged`` (``(dataset, path)``: the faces of rounds 1-4, i.e. of
    ``samples_for_skin_tone()`` without the tone round)."""
    return np.array([s.split == "val" and (s.dataset, s.path) in judged for s in samples]) & (y >= 0)


def agreement_by_group(y: np.ndarray, pred: np.ndarray, groups: np.ndarray) -> dict:
    """Exact and within-one agreement overall and per FairFace group (names with "|"), with the lowest."""
    near = np.abs(pred - y) <= 1
    per = {
        g: {"n": int((groups == g).sum()), "within_one": round(float(near[groups == g].mean()), 4),
            "exact": round(float((pred[groups == g] == y[groups == g]).mean()), 4)}
        for g in sorted(set(groups)) if "|" in g
    }
    lowest = min(per, key=lambda g: per[g]["within_one"]) if per else None
    return {"n": len(y), "exact": round(float((pred == y).mean()), 4),
            "within_one": round(float(near.mean()), 4), "lowest_group": lowest,
            "lowest_group_within_one": per[lowest]["within_one"] if lowest else None, "groups": per}


def with_pasted_mask(crops: np.ndarray, spec: HeadSpec, style: str) -> np.ndarray:
    """The crops (``N x 3 x S x S`` uint8 RGB) with a ``style`` mask pasted where the face box sits."""
    box = face_box_in_crop(spec.input_size, spec.crop_margin, spec.region)
    rng = np.random.default_rng(0)
    return np.stack([
        paste_mask(np.ascontiguousarray(c.transpose(1, 2, 0)), box, style, rng).transpose(2, 0, 1) for c in crops
    ])


def val_report(spec: HeadSpec, samples: list[Sample], x: np.ndarray, y: np.ndarray, proba: Proba) -> dict:
    keep = val_mask(samples, y, {(s.dataset, s.path) for s in samples_for_skin_tone()})
    crops, labels = x[keep], y[keep]
    groups = np.array([s.group for s in samples])[keep]
    pred = proba(crops).argmax(axis=1)
    report = agreement_by_group(labels, pred, groups)
    report["mask_equal"] = {
        style: round(float((proba(with_pasted_mask(crops, spec, style)).argmax(axis=1) == pred).mean()), 4)
        for style in MASK_STYLES_TESTED
    }
    return report


def shipped_proba(models_dir: Path, spec: HeadSpec) -> Proba:
    """The shipped head's probabilities as serving computes them (``HeadModel.predict``: mirror-averaged when
    its manifest entry says so), on crops normalised as training normalises them."""
    head = HeadModel.from_manifest(spec.name, load_manifest(models_dir)["heads"][spec.name], models_dir)
    return lambda crops: head.predict(to_input(crops, spec).numpy())


def checkpoint_proba(path: Path, spec: HeadSpec) -> Proba:
    model = build_model(spec)
    model.load_state_dict(torch.load(path, weights_only=False)["model"])
    model.eval()
    return lambda crops: predict_proba(model, crops, spec)


def variant(size: int, tone_round: bool) -> HeadSpec:
    """The shipped skin-tone recipe at another input size, optionally with labelling round 5."""
    spec = dataclasses.replace(HEADS["skin_tone"], input_size=size)
    if tone_round:
        spec = dataclasses.replace(spec, samples=functools.partial(samples_for_skin_tone, include_tone_round=True))
    return spec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.tone_val", description=__doc__.splitlines()[0])
    parser.add_argument("name", help='a run name under --runs-dir, or "shipped" for models/skin_tone.onnx')
    parser.add_argument("--size", type=int, default=HEADS["skin_tone"].input_size)
    parser.add_argument("--tone-round", action="store_true", help="train with labelling round 5 too")
    parser.add_argument("--train", action="store_true", help="train (or resume) the run first")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs-dir", type=Path, default=Path.home() / ".cache" / "emoticon" / "runs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    import cv2

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    spec = variant(args.size, args.tone_round)
    samples, x, y = prepare(spec, args.runs_dir / "cache", None)
    run_dir = args.runs_dir / args.name
    if args.name == "shipped":
        proba = shipped_proba(REPO_ROOT / "models", spec)
    else:
        if args.train:
            train = split_arrays(samples, x, y, "train")
            train_head(spec, train, split_arrays(samples, x, y, "val"), run_dir,
                       epochs=args.epochs or spec.epochs, threads=args.threads)
        proba = checkpoint_proba(run_dir / "best.pt", spec)
    report = val_report(spec, samples, x, y, proba)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "val_groups.json").write_text(json.dumps(report, indent=2))
    print(json.dumps({k: v for k, v in report.items() if k != "groups"}, indent=1))
    for group, figures in report["groups"].items():
        print(f"{group:28s} n={figures['n']:4d} within one {figures['within_one']:.3f} exact {figures['exact']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
