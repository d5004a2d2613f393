"""Smoke training on a tiny subset, one epoch, then ONNX export and PyTorch↔onnxruntime parity.

This is what CI runs of the training on every run; the full runs are ``python -m training <head>``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from training.__main__ import main as train_main
from training.export import PARITY_TOLERANCE, sha256_file
from training.heads import HEADS


@pytest.mark.parametrize("head", ["emotion", "mask", "skin_tone"])  # skin_tone: the mask-consistency loss
def test_one_epoch_on_a_subset_exports_a_matching_onnx_head(head: str, tmp_path: Path, datasets_dir: Path) -> None:
    models = tmp_path / "models"
    rc = train_main([head, "--subset", "48", "--epochs", "1", "--run-dir", str(tmp_path / "runs"),
                     "--models-dir", str(models), "--threads", "1"])
    assert rc == 0
    manifest = json.loads((models / "manifest.json").read_text())
    entry = manifest["heads"][head]
    spec = HEADS[head]
    assert entry["labels"] == list(spec.labels)
    assert entry["sha256"] == sha256_file(models / entry["file"])
    assert entry["parity_max_abs_softmax_diff"] <= PARITY_TOLERANCE
    assert (models / "cards" / f"{head}_confusion.png").exists()
    if spec.int8:  # the shipped file is int8, made from the run's fp32 export kept beside it
        assert entry["quantized"]["from_sha256"] == sha256_file(models / entry["quantized"]["from"])
        assert entry["bytes"] < (models / entry["quantized"]["from"]).stat().st_size
    session = ort.InferenceSession(str(models / entry["file"]), providers=["CPUExecutionProvider"])
    for batch in (1, 5):  # dynamic batch axis
        x = np.zeros((batch, spec.channels, spec.input_size, spec.input_size), np.float32)
        (logits,) = session.run(None, {"input": x})
        assert logits.shape == (batch, len(spec.labels))
