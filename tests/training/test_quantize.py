"""int8 heads (training.quantize): the shipped int8 file against the fp32 export it was made from, on real
FER2013 test faces, and the quantisation step itself."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from services.settings import REPO_ROOT
from training.data import load_image
from training.export import sha256_file
from training.heads import HEADS
from training.quantize import agreement, onnx_proba, quantize_file, to_network_input

MODELS = REPO_ROOT / "models"


def fer_crops(split: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` FER2013 faces of ``split`` (every k-th, fixed), as the emotion head's float input, and labels."""
    spec = HEADS["emotion"]
    rows = [s for s in spec.samples() if s.dataset == "fer2013" and s.split == split]
    rows = rows[:: max(1, len(rows) // n)][:n]
    x = np.stack([load_image(s.dataset, s.path, grayscale=True)[None] for s in rows])
    return to_network_input(x, spec), np.array([s.label for s in rows])


def test_agreement_counts_equal_answers_and_the_largest_gap() -> None:
    a = np.array([[0.9, 0.1], [0.4, 0.6], [0.5, 0.5]])
    b = np.array([[0.8, 0.2], [0.7, 0.3], [0.5, 0.5]])
    assert agreement(a, b) == {"n": 3, "argmax_agreement": round(2 / 3, 4), "max_abs_softmax_diff": 0.3}


def test_shipped_int8_emotion_answers_as_its_fp32_export_on_real_faces(datasets_dir: Path) -> None:
    entry = json.loads((MODELS / "manifest.json").read_text())["heads"]["emotion"]
    q = entry["quantized"]
    fp32, int8 = MODELS / q["from"], MODELS / entry["file"]
    assert sha256_file(fp32) == q["from_sha256"] and sha256_file(int8) == entry["sha256"]
    assert int8.stat().st_size < 0.4 * fp32.stat().st_size
    x, y = fer_crops("test", 600)
    p32, p8 = onnx_proba(fp32, x), onnx_proba(int8, x)
    assert agreement(p32, p8)["argmax_agreement"] >= 0.97
    # Not worse than fp32 by more than a face in a hundred on the same faces.
    assert (p8.argmax(1) == y).mean() >= (p32.argmax(1) == y).mean() - 0.01


def test_quantize_file_writes_a_smaller_head_that_keeps_its_answers(tmp_path: Path, datasets_dir: Path) -> None:
    calibration, _ = fer_crops("train", 64)
    out = tmp_path / "emotion.int8.onnx"
    quantize_file(MODELS / "emotion.fp32.onnx", out, calibration)
    assert out.exists() and not (tmp_path / "emotion.int8.pre.onnx").exists()
    x, _ = fer_crops("val", 300)
    report = agreement(onnx_proba(MODELS / "emotion.fp32.onnx", x), onnx_proba(out, x))
    assert report["argmax_agreement"] >= 0.9
