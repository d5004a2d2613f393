"""int8 heads: static post-training quantisation of an exported fp32 ONNX head (onnxruntime.quantization).

Weights int8 per output channel, activations uint8, as QuantizeLinear/DequantizeLinear pairs (QDQ) that
onnxruntime's CPU provider fuses into integer convolutions; activation ranges by MinMax over real training
crops. Chosen on FER2013 val for the emotion head (bench/bench_heads.py, one thread): 1.48 → 0.46 ms per face,
val accuracy 63.7 → 63.9 % (QOperator: the same answers, 0.50 ms; entropy and percentile calibration: no better
on val, slower).

The training run's fp32 file stays beside the int8 one (``<head>.fp32.onnx``, named in the manifest entry's
``quantized`` block), so the step can be redone or undone without retraining:

    python -m training.quantize emotion [--models-dir models] [--runs-dir ~/.cache/emoticon/runs]

It re-measures the test split with the int8 file (the manifest's ``test_metrics``, the card's test results and
``<runs-dir>/<head>/test_report.json``) and records how often int8 and fp32 agree on the test images.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from services.classifier.heads import softmax
from services.settings import REPO_ROOT

from .data import Sample
from .heads import HEADS, HeadSpec
from .metrics import classification_report
from .train import to_input

log = logging.getLogger(__name__)

CALIBRATION_IMAGES = 1000
SCHEME = "static int8: weights int8 per channel, activations uint8, QDQ, MinMax calibration"


def to_network_input(x_uint8: np.ndarray, spec: HeadSpec) -> np.ndarray:
    """``N x C x S x S`` uint8 crops → the float32 input every head takes (``training.train.to_input``)."""
    return to_input(x_uint8, spec).numpy()


class _Crops(CalibrationDataReader):
    def __init__(self, x: np.ndarray) -> None:
        self._rows = iter(x[i : i + 1] for i in range(len(x)))

    def get_next(self) -> dict[str, np.ndarray] | None:
        row = next(self._rows, None)
        return None if row is None else {"input": row}


def quantize_file(fp32: Path, out: Path, calibration: np.ndarray) -> None:
    """Write the int8 version of ``fp32`` to ``out``; ``calibration``: float32 network inputs (real crops)."""
    prepared = out.with_suffix(".pre.onnx")
    quant_pre_process(str(fp32), str(prepared))
    try:
        quantize_static(str(prepared), str(out), _Crops(calibration), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    finally:
        prepared.unlink(missing_ok=True)


def onnx_proba(path: Path, x: np.ndarray, batch: int = 256) -> np.ndarray:
    """Softmax of an ONNX head over float32 inputs, one thread (as the service runs it)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return np.concatenate([softmax(session.run(None, {"input": x[i : i + batch]})[0])
                           for i in range(0, len(x), batch)])


def agreement(p_fp32: np.ndarray, p_int8: np.ndarray) -> dict:
    """How the int8 head's answers differ from the fp32 head's on the same inputs."""
    return {
        "n": len(p_fp32),
        "argmax_agreement": round(float((p_fp32.argmax(1) == p_int8.argmax(1)).mean()), 4),
        "max_abs_softmax_diff": round(float(np.abs(p_fp32 - p_int8).max()), 4),
    }


def calibration_rows(samples: list[Sample], n: int = CALIBRATION_IMAGES, seed: int = 0) -> np.ndarray:
    """Indices of ``n`` training samples, drawn with a fixed seed."""
    train = np.array([i for i, s in enumerate(samples) if s.split == "train"], dtype=np.int64)
    return np.sort(np.random.default_rng(seed).choice(train, min(n, len(train)), replace=False))


def ship_int8(spec: HeadSpec, models_dir: Path, samples: list[Sample], x: np.ndarray, y: np.ndarray) -> tuple[dict, dict]:
    """Quantise ``models_dir/<head>.onnx`` in place (the fp32 file kept as ``<head>.fp32.onnx``), re-measure the
    test split with it and update the manifest entry. Returns (manifest entry, int8 test report)."""
    from .export import manifest_test_metrics, save_confusion_png, sha256_file, update_manifest
    from .pipeline import split_arrays, target_metrics

    manifest = json.loads((models_dir / "manifest.json").read_text())
    entry = manifest["heads"][spec.name]
    shipped, fp32 = models_dir / f"{spec.name}.onnx", models_dir / f"{spec.name}.fp32.onnx"
    if "quantized" not in entry:  # the file the manifest names is the training run's fp32 export
        if sha256_file(shipped) != entry["sha256"]:
            raise RuntimeError(f"{shipped} is not the file the manifest names")
        shipped.replace(fp32)
    elif sha256_file(fp32) != entry["quantized"]["from_sha256"]:
        raise RuntimeError(f"{fp32} is not the fp32 file the manifest names")
    calibration = calibration_rows(samples)
    quantize_file(fp32, shipped, to_network_input(x[calibration], spec))

    test = split_arrays(samples, x, y, "test")
    x_test = to_network_input(test.x, spec)
    p_int8, p_fp32 = onnx_proba(shipped, x_test), onnx_proba(fp32, x_test)
    report = classification_report(test.y, p_int8, spec.labels)
    report["fp32"] = {k: round(classification_report(test.y, p_fp32, spec.labels)[k], 4)
                      for k in ("accuracy", "macro_f1")}
    test_samples = [s for s, label in zip(samples, y) if s.split == "test" and label >= 0]
    report["targets"] = target_metrics(spec, test_samples, test.y, p_int8)
    save_confusion_png(report["confusion"], spec.labels, f"{spec.name}: test confusion (row-normalised)",
                       models_dir / "cards" / f"{spec.name}_confusion.png")
    entry = {
        **entry,
        "sha256": sha256_file(shipped),
        "bytes": shipped.stat().st_size,
        "quantized": {
            "scheme": SCHEME,
            "calibration": f"{len(calibration)} training crops (seed 0)",
            "from": fp32.name,
            "from_sha256": sha256_file(fp32),
            "test_vs_fp32": agreement(p_fp32, p_int8),
        },
        "test_metrics": manifest_test_metrics(report),
    }
    update_manifest(models_dir, spec.name, entry)
    log.info("%s: int8 %s (test accuracy %.4f, fp32 %.4f; argmax equal on %.4f)", spec.name, shipped.name,
             report["accuracy"], report["fp32"]["accuracy"], entry["quantized"]["test_vs_fp32"]["argmax_agreement"])
    return entry, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.quantize", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("head", choices=[h for h, s in HEADS.items() if s.int8])
    parser.add_argument("--models-dir", type=Path, default=REPO_ROOT / "models")
    parser.add_argument("--runs-dir", type=Path, default=REPO_ROOT / "runs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from .pipeline import prepare

    spec = HEADS[args.head]
    samples, x, y = prepare(spec, args.runs_dir / "cache", None)
    _, report = ship_int8(spec, args.models_dir, samples, x, y)
    out = args.runs_dir / spec.name / "test_report.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
