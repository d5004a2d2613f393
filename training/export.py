"""ONNX export (opset 17, dynamic batch), PyTorch↔onnxruntime parity on real images, manifest and card."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from services.classifier.heads import softmax

from .data import Sample
from .heads import HeadSpec
from .metrics import save_confusion_png
from .model import count_parameters
from .train import predict_proba, to_input

log = logging.getLogger(__name__)

OPSET = 17
PARITY_TOLERANCE = 1e-4

TRAINING_DATA = {
    "emotion": [
        "fer2013 (train; val = PublicTest for selection; test = PrivateTest)",
        "tfeid train (posed expressions, framed by res10; its val/test never train or select)",
    ],
    "mask": [
        "facemask12k (regrouped by augmentation family)",
        "maskedfacenet (given splits)",
        "seed_attributes task=mask (given splits)",
        "fairface_train train split as extra 'none' faces (held-out hand-labelled faces excluded)",
    ],
    "eyewear": [
        "hand labels (training/labels/faces.csv: FairFace, FaceMask-12K, seed photos; held-out 20 % excluded)",
        "seed_attributes eyewear column for clusters not hand-labelled (glasses_or_sunglasses skipped)",
        "cmu_faces eyewear column (split by person)",
    ],
    "skin_tone": [
        "hand labels (training/labels/faces.csv: FairFace, FaceMask-12K, seed photos; held-out 20 % excluded), "
        "with pasted masks and sunglasses",
    ],
    "frame": ["seed_attributes task=glasses_shape (one photo per duplicate cluster; held-out 20 % excluded)"],
}
LICENCE_NOTE = (
    "Research artefact. Trained on sets without an open data licence (FER2013, Face Mask 12K, the seed photos: "
    "unknown; TFEID: research use; MaskedFace-Net: CC BY-NC-SA 4.0; CMU faces: educational use with attribution; "
    "FairFace: CC BY 4.0). "
    "Their terms carry forward to these weights."
)


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_onnx(spec: HeadSpec, model: torch.nn.Module, path: Path) -> None:
    model.eval()
    dummy = torch.zeros(2, spec.channels, spec.input_size, spec.input_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        model,
        (dummy,),
        str(path),
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=OPSET,
        dynamo=False,
    )


def parity(spec: HeadSpec, model: torch.nn.Module, path: Path, x_real: np.ndarray) -> float:
    """Max |softmax difference| between PyTorch and onnxruntime on real framed images (uint8 N x C x S x S): the
    network's own output (serving's mirror averaging, when on, is applied the same way to both)."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    torch_p = predict_proba(model, x_real, dataclasses.replace(spec, flip_average=False))
    logits = session.run(None, {"input": to_input(x_real, spec).numpy()})[0]
    return float(np.abs(softmax(logits) - torch_p).max())


def update_manifest(models_dir: Path, head: str, entry: dict) -> None:
    path = models_dir / "manifest.json"
    manifest = json.loads(path.read_text()) if path.exists() else {"version": 1, "heads": {}}
    manifest["heads"][head] = entry
    manifest["heads"] = dict(sorted(manifest["heads"].items()))
    path.write_text(json.dumps(manifest, indent=2) + "\n")


def manifest_test_metrics(report: dict) -> dict:
    """The manifest's ``test_metrics`` of a head from its test report (``training.metrics.classification_report``)."""
    return {
        "n": report["n"],
        "accuracy": round(report["accuracy"], 4),
        "macro_f1": round(report["macro_f1"], 4),
        "per_class_recall": {k: v["recall"] for k, v in report["per_class"].items()},
    }


def export_head(
    spec: HeadSpec,
    model: torch.nn.Module,
    run_dir: Path,
    models_dir: Path,
    samples: list[Sample],
    x: np.ndarray,
    y: np.ndarray,
    test_report: dict,
) -> dict:
    onnx_path = models_dir / f"{spec.name}.onnx"
    export_onnx(spec, model, onnx_path)
    test_idx = np.array([i for i, s in enumerate(samples) if s.split == "test"], dtype=np.int64)[:256]
    max_diff = parity(spec, model, onnx_path, x[test_idx])
    if max_diff > PARITY_TOLERANCE:
        raise RuntimeError(f"{spec.name}: ONNX parity {max_diff:.2e} > {PARITY_TOLERANCE}")
    save_confusion_png(
        test_report["confusion"], spec.labels, f"{spec.name}: test confusion (row-normalised)",
        models_dir / "cards" / f"{spec.name}_confusion.png",
    )
    entry = {
        "file": onnx_path.name,
        "sha256": sha256_file(onnx_path),
        "bytes": onnx_path.stat().st_size,
        "parameters": count_parameters(model),
        "labels": list(spec.labels),
        "input": {
            "name": "input",
            "layout": "NCHW",
            "size": spec.input_size,
            "colour": spec.colour,
            "scale": 1 / 255,
            "mean": spec.mean,
            "std": spec.std,
        },
        "crop_margin": spec.crop_margin,
        **({"region": spec.region} if spec.region else {}),
        **({"flip_average": True} if spec.flip_average else {}),
        **({"calibration": test_report["calibration"]} if test_report.get("calibration") else {}),
        **({"unknown_rule": test_report["unknown_rule"]} if test_report.get("unknown_rule") else {}),
        "opset": OPSET,
        "parity_max_abs_softmax_diff": max_diff,
        "test_metrics": manifest_test_metrics(test_report),
        "training_data": TRAINING_DATA.get(spec.name, []),
        "licence": LICENCE_NOTE,
        "trained_at": dt.date.today().isoformat(),
        "card": f"cards/{spec.name}.md",
    }
    update_manifest(models_dir, spec.name, entry)
    if spec.int8:  # ship the int8 file; the run's fp32 test report is kept beside the int8 one
        from .quantize import ship_int8

        entry, int8_report = ship_int8(spec, models_dir, samples, x, y)
        (run_dir / "test_report.json").replace(run_dir / "test_report_fp32.json")
        (run_dir / "test_report.json").write_text(json.dumps(int8_report, indent=2))
    (run_dir / "export.json").write_text(json.dumps(entry, indent=2))
    log.info("exported %s: %s (parity %.2e)", spec.name, onnx_path, max_diff)
    return entry
