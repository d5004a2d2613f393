"""The shipped skin-tone head on real held-out faces: a pasted mask or a coloured light must not change the tone.

Faces: 400 held-out hand-labelled FairFace faces without a mask (``training/labels/faces.csv``; no training run saw
them), through res10 and the classifier as served, on faces where both answers are a tone. Within one step:
issue #10's ≥ 98 %. Equal: issue #10's ≥ 85 % (the shipped head, trained with a mask-consistency loss, measures
91–93 % with a pasted mask on all ~1,210 held-out mask-free faces: its card).
"""

from __future__ import annotations

import numpy as np
import pytest

from services.classifier import FaceClassifier
from services.contracts import SKIN_TONES, FaceBox
from services.detector import FaceDetector
from services.settings import Settings
from training.data import load_image, read_face_labels
from training.evaluate_tone import CASTS, apply_cast, with_mask
from training.framing import largest_face

N_FACES = 400
EQUAL_AT_LEAST = 0.85


@pytest.fixture(scope="module")
def faces(settings: Settings) -> tuple[FaceClassifier, list[tuple[np.ndarray, FaceBox]]]:
    detector = FaceDetector(settings.model_copy(update={"min_face_px": 8}))
    rows = [r for r in read_face_labels() if r["holdout"] == "yes" and r["dataset"] == "fairface_train"
            and r["mask"] == "none" and r["usable"] == "yes" and r["skin_tone"]]
    step = max(1, len(rows) // N_FACES)
    out = []
    for r in rows[::step][:N_FACES]:
        image = load_image(r["dataset"], r["path"])
        box = largest_face(detector, image)
        if box is not None:
            out.append((image, box))
    assert len(out) >= N_FACES * 0.8
    return FaceClassifier(settings), out


def _steps(classifier: FaceClassifier, images: list[tuple[np.ndarray, FaceBox]]) -> list[int | None]:
    labels = [classifier.classify(image, [box])[0].skin_tone.label for image, box in images]
    return [SKIN_TONES.index(t) if t in SKIN_TONES else None for t in labels]


def _assert_invariant(base: list[int | None], changed: list[int | None]) -> None:
    both = [(a, b) for a, b in zip(base, changed) if a is not None and b is not None]
    assert len(both) >= 0.8 * len(base)
    equal = np.mean([a == b for a, b in both])
    within_one = np.mean([abs(a - b) <= 1 for a, b in both])
    assert equal >= EQUAL_AT_LEAST, f"equal on {equal:.2%}"
    assert within_one >= 0.98, f"within one on {within_one:.2%}"


@pytest.mark.parametrize("style", ["black", "white", "light_blue"])
def test_a_pasted_mask_keeps_the_tone(faces, style: str) -> None:
    classifier, images = faces
    masked = [(with_mask(image, box, style), box) for image, box in images]
    _assert_invariant(_steps(classifier, images), _steps(classifier, masked))


@pytest.mark.parametrize("cast", sorted(CASTS))
def test_a_warm_or_cool_light_keeps_the_tone(faces, cast: str) -> None:
    classifier, images = faces
    lit = [(apply_cast(image, CASTS[cast]), box) for image, box in images]
    _assert_invariant(_steps(classifier, images), _steps(classifier, lit))


def test_a_black_mask_does_not_darken_nor_a_white_one_lighten(faces) -> None:
    classifier, images = faces
    base = _steps(classifier, images)
    for style, sign in (("black", 1), ("white", -1)):
        changed = _steps(classifier, [(with_mask(image, box, style), box) for image, box in images])
        shifts = [sign * (b - a) for a, b in zip(base, changed) if a is not None and b is not None]
        assert np.mean(shifts) < 0.15, f"{style} mask shifts the mean tone by {np.mean(shifts):+.2f} steps"
