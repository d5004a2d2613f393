"""One head from data to ONNX: samples → framed arrays → train → test report → export + card."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch

from .data import Sample
from .data import subset as take_subset
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
    if spec.name == "mask":
        # Mask-free faces of every FairFace group as extra "none": FairFace train trains, FairFace val joins
        # val (and picks the decision rule, training.decide), the held-out hand-labelled faces are the fairness
        # test. Without them the head called 51 % of Black men and 33 % of Middle Eastern men "masked" (beards,
        # dark skin under the chin read as a mask).
        from .data import samples_for_fairface_faces

        faces = take_subset(samples_for_fairface_faces(), subset)
        fx, _ = build_arrays(faces, spec, cache_dir, use_detector=True)  # framed as the mask head frames
        samples = samples + faces
        x, y = np.concatenate([x, fx]), np.concatenate([y, np.array([s.label for s in faces], np.int64)])
    log.info("%s: %d samples, framing %s", spec.name, len(samples), counts)
    return samples, x, y


def split_arrays(samples: list[Sample], x: np.ndarray, y: np.ndarray, split: str) -> ArraySplit:
    keep = np.array([s.split == split for s in samples]) & (y >= 0)
    return ArraySplit(x[keep], y[keep])


def target_metrics(spec: HeadSpec, samples: list[Sample], y: np.ndarray, proba: np.ndarray) -> dict:
    """The figures each head's targets are stated in (see the model cards)."""
    pred = proba.argmax(axis=1)
    datasets = np.array([s.dataset for s in samples])
    out: dict = {"per_dataset_accuracy": {
        d: round(float((pred[datasets == d] == y[datasets == d]).mean()), 4) for d in sorted(set(datasets))
    }}
    if spec.name == "mask":
        fm = datasets == "facemask12k"
        out["facemask12k_none_vs_any_accuracy"] = round(float(((pred[fm] > 0) == (y[fm] > 0)).mean()), 4)
        mfn = datasets == "maskedfacenet"
        two_way = proba[mfn][:, 1:].argmax(axis=1) + 1  # mask vs mask_incorrect only
        out["maskedfacenet_mask_vs_incorrect_accuracy"] = round(float((two_way == y[mfn]).mean()), 4)
        out["maskedfacenet_three_way_accuracy"] = round(float((pred[mfn] == y[mfn]).mean()), 4)
    if spec.name == "skin_tone":
        out["within_one_step"] = round(float((np.abs(pred - y) <= 1).mean()), 4)
    return out


GREY_COLOURFULNESS = 5.0  # mean (max − min channel), 0-255: FairFace's near-greyscale photos measure < 2


def choose_unknown_rule(val_proba: np.ndarray, val_x: np.ndarray, unsure_share: float = 0.02) -> dict:
    """Thresholds of ``services.classifier.tone``, from the val hand labels (all judged as colour photos):
    colour below ``GREY_COLOURFULNESS`` (greyscale reads ≈ 0; a percentile of val colour would also catch faces
    under a cool light, whose red−blue spread shrinks), and a within-one-step confidence (``tone_confidence``)
    below the one the least sure ``unsure_share`` of val faces have."""
    from services.classifier.tone import colourfulness, tone_confidence

    colour = colourfulness(val_x)
    return {
        "min_colourfulness": GREY_COLOURFULNESS,
        "val_share_under_it": round(float((colour < GREY_COLOURFULNESS).mean()), 4),
        "min_confidence": round(float(np.quantile(tone_confidence(val_proba), unsure_share)), 3),
    }


def calibrate(model: torch.nn.Module, spec: HeadSpec, val: ArraySplit, test: ArraySplit) -> tuple:
    """Temperature scaling fitted on val (real photos); ECE on test before and after."""
    from .metrics import expected_calibration_error, fit_temperature
    from .model import TemperatureScaled

    val_logits = np.log(np.clip(predict_proba(model, val.x, spec), 1e-12, 1))  # softmax-invariant logits
    temperature = fit_temperature(val_logits, val.y)
    before = expected_calibration_error(test.y, predict_proba(model, test.x, spec))
    scaled = TemperatureScaled(model, temperature).eval()
    after = expected_calibration_error(test.y, predict_proba(scaled, test.x, spec))
    log.info("%s: temperature %.3f, test ECE %.4f → %.4f", spec.name, temperature, before, after)
    return scaled, {"temperature": round(temperature, 4), "test_ece_before": round(before, 4),
                    "test_ece_after": round(after, 4)}


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
    calibration = {}
    if spec.temperature_scaling:
        model, calibration = calibrate(model, spec, val, test)
    proba = predict_proba(model, test.x, spec)
    report = classification_report(test.y, proba, spec.labels)
    report["calibration"] = calibration
    if spec.name == "skin_tone":
        report["unknown_rule"] = choose_unknown_rule(predict_proba(model, val.x, spec), val.x)
    test_samples = [s for s, label in zip(samples, y) if s.split == "test" and label >= 0]
    report["targets"] = target_metrics(spec, test_samples, test.y, proba)
    (run_dir / "test_report.json").write_text(json.dumps(report, indent=2))
    log.info("%s test accuracy %.4f macro-F1 %.4f", spec.name, report["accuracy"], report["macro_f1"])
    if export:
        from .export import export_head

        export_head(spec, model, run_dir, models_dir, samples, x, y, report)
    return report
