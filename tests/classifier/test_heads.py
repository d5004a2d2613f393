"""The shipped heads: manifest checks at load, batching, probabilities, on real photos."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from services.classifier import FaceClassifier, load_manifest
from services.contracts import HEAD_LABELS, HEAD_NAMES, OPTIONAL_HEAD_LABELS, FaceBox
from services.errors import ModelError
from services.settings import REPO_ROOT, Settings


@pytest.fixture(scope="module")
def classifier(settings: Settings) -> FaceClassifier:
    return FaceClassifier(settings)


def _box(x: int, y: int, w: int, h: int, image: np.ndarray) -> FaceBox:
    return FaceBox.from_pixels(x, y, w, h, image.shape[1], image.shape[0], 0.9)


def test_manifest_lists_the_four_heads_with_their_contract_labels() -> None:
    manifest = load_manifest(REPO_ROOT / "models")
    assert set(HEAD_NAMES) <= set(manifest["heads"]) <= {*HEAD_NAMES, *OPTIONAL_HEAD_LABELS}
    for name, entry in manifest["heads"].items():
        assert entry["labels"] == list({**HEAD_LABELS, **OPTIONAL_HEAD_LABELS}[name])
        assert len(entry["sha256"]) == 64
        assert (REPO_ROOT / "models" / entry["card"]).exists()


def test_every_face_gets_all_four_heads_with_probabilities_summing_to_one(
    classifier: FaceClassifier, astronaut_bgr: np.ndarray
) -> None:
    boxes = [_box(180, 60, 110, 140, astronaut_bgr), _box(0, 300, 120, 120, astronaut_bgr)]
    results = classifier.classify(astronaut_bgr, boxes)
    assert len(results) == 2
    for attrs in results:
        for name in HEAD_NAMES:
            out = getattr(attrs, name)
            assert list(out.probabilities) == list(HEAD_LABELS[name])
            assert abs(sum(out.probabilities.values()) - 1) < 1e-3
            head = classifier.heads[name]  # the answer is the head's decision rule applied to its probabilities
            decided = head.decide(np.array([list(out.probabilities.values())]))[0]
            assert out.label == head.labels[int(decided)]


def test_batch_equals_one_by_one(classifier: FaceClassifier, astronaut_bgr: np.ndarray) -> None:
    boxes = [_box(180, 60, 110, 140, astronaut_bgr), _box(300, 200, 150, 150, astronaut_bgr)]
    together = classifier.classify(astronaut_bgr, boxes)
    alone = [classifier.classify(astronaut_bgr, [b])[0] for b in boxes]
    for a, b in zip(together, alone):
        for name in HEAD_NAMES:
            pa, pb = getattr(a, name).probabilities, getattr(b, name).probabilities
            assert max(abs(pa[k] - pb[k]) for k in pa) < 1e-4


def test_different_faces_get_different_probabilities(classifier: FaceClassifier, astronaut_bgr: np.ndarray) -> None:
    face, background = classifier.classify(
        astronaut_bgr, [_box(180, 60, 110, 140, astronaut_bgr), _box(380, 380, 120, 120, astronaut_bgr)]
    )
    assert face.emotion.probabilities != background.emotion.probabilities


def test_no_faces_is_an_empty_answer(classifier: FaceClassifier, astronaut_bgr: np.ndarray) -> None:
    assert classifier.classify(astronaut_bgr, []) == []


def test_a_tampered_model_file_is_refused(tmp_path: Path) -> None:
    models = tmp_path / "models"
    shutil.copytree(REPO_ROOT / "models", models)
    manifest = json.loads((models / "manifest.json").read_text())
    target = models / manifest["heads"]["mask"]["file"]
    target.write_bytes(target.read_bytes() + b"\0")
    with pytest.raises(ModelError, match="sha256"):
        FaceClassifier(Settings(model_dir=models))


def test_wrong_labels_in_the_manifest_are_refused(tmp_path: Path) -> None:
    models = tmp_path / "models"
    shutil.copytree(REPO_ROOT / "models", models)
    manifest = json.loads((models / "manifest.json").read_text())
    manifest["heads"]["eyewear"]["labels"] = ["none", "sunglasses", "glasses"]
    (models / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="labels"):
        FaceClassifier(Settings(model_dir=models))
