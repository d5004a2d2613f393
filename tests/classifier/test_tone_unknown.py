"""The "unknown" skin tone: the pure rule, and the shipped head on real photos (colour vs greyscale)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from services.classifier import FaceClassifier
from services.classifier.tone import TONE_UNKNOWN, UnknownToneRule, colourfulness, tone_confidence, unknown_tone
from services.contracts import SKIN_TONES
from services.detector import FaceDetector
from services.settings import Settings


def test_colourfulness_is_zero_for_grey_and_grows_with_chroma() -> None:
    grey = np.full((2, 3, 8, 8), 120, np.uint8)
    tinted = grey.copy()
    tinted[1, 0] += 30  # more red in the second crop
    assert colourfulness(grey).tolist() == [0.0, 0.0]
    assert colourfulness(tinted)[1] == pytest.approx(30.0)


def test_unknown_when_grey_or_unsure_and_only_then() -> None:
    rule = UnknownToneRule(min_colourfulness=4.0, min_confidence=0.6)
    probabilities = np.array([[0.9, 0.1, 0, 0, 0], [0.4, 0.1, 0, 0.1, 0.4], [0.9, 0.1, 0, 0, 0]])
    colour = np.array([20.0, 20.0, 1.0])
    assert unknown_tone(probabilities, colour, rule).tolist() == [False, True, True]


def test_a_split_between_neighbouring_steps_is_confident_a_split_far_apart_is_not() -> None:
    neighbours = np.array([[0, 0, 0, 0.5, 0.5]])
    far_apart = np.array([[0, 0.5, 0, 0, 0.5]])
    assert tone_confidence(neighbours)[0] == pytest.approx(1.0)
    assert tone_confidence(far_apart)[0] == pytest.approx(0.5)


def test_rule_is_read_from_the_manifest_entry_with_defaults() -> None:
    assert UnknownToneRule.from_manifest({"unknown_rule": {"min_colourfulness": 7, "min_confidence": 0.3}}) == (
        UnknownToneRule(7.0, 0.3))
    assert UnknownToneRule.from_manifest({}) == UnknownToneRule()


@pytest.fixture(scope="module")
def served(settings: Settings) -> tuple[FaceClassifier, FaceDetector]:
    return FaceClassifier(settings), FaceDetector(settings)


def test_greyscale_photo_gets_unknown_and_the_colour_photo_a_tone(
    served: tuple[FaceClassifier, FaceDetector], astronaut_bgr: np.ndarray
) -> None:
    classifier, detector = served
    boxes = detector.detect(astronaut_bgr)
    colour = classifier.classify(astronaut_bgr, boxes)[0].skin_tone
    grey_image = cv2.cvtColor(cv2.cvtColor(astronaut_bgr, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    grey = classifier.classify(grey_image, boxes)[0].skin_tone
    assert colour.label in SKIN_TONES
    assert grey.label == TONE_UNKNOWN
    assert set(grey.probabilities) == set(SKIN_TONES)  # the distribution is still reported
