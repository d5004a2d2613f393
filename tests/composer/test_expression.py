"""The expression parameter space: points per emotion, probability blending, distances."""

from __future__ import annotations

import math

import pytest

from services.composer.expression import (
    EMOTION_POINTS,
    EXPRESSION_FIELDS,
    Expression,
    blend_expression,
    emotion_weights,
    expression_distance,
)
from services.contracts import EMOTIONS


def test_every_emotion_has_a_point_and_points_are_distinct() -> None:
    assert set(EMOTION_POINTS) == set(EMOTIONS)
    points = list(EMOTION_POINTS.values())
    for i, a in enumerate(points):
        for b in points[i + 1 :]:
            assert expression_distance(a, b) > 0.3


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_pure_probabilities_give_the_emotion_point(emotion: str) -> None:
    probabilities = {name: float(name == emotion) for name in EMOTIONS}
    assert blend_expression(probabilities) == EMOTION_POINTS[emotion]


def test_smile_curves_up_and_sadness_down() -> None:
    assert blend_expression({"happy": 1.0}).mouth_curve > 0.5
    assert blend_expression({"sad": 1.0}).mouth_curve < -0.5
    assert blend_expression({"neutral": 1.0}).mouth_curve == 0.0


def test_blend_is_the_probability_weighted_mean() -> None:
    mixed = blend_expression({"happy": 0.6, "surprise": 0.4})
    happy, surprise = EMOTION_POINTS["happy"], EMOTION_POINTS["surprise"]
    for field in EXPRESSION_FIELDS:
        expected = 0.6 * getattr(happy, field) + 0.4 * getattr(surprise, field)
        assert getattr(mixed, field) == pytest.approx(expected)
    # It smiles and its eyes are wider than a pure smile's: both emotions show.
    assert mixed.mouth_curve > 0.3
    assert mixed.eye_open > happy.eye_open


def test_weights_are_normalised_and_ignore_unknown_and_invalid_values() -> None:
    weights = emotion_weights({"happy": 2.0, "sad": 2.0, "bored": 5.0, "fear": -1.0, "angry": math.nan})
    assert weights["happy"] == pytest.approx(0.5)
    assert weights["sad"] == pytest.approx(0.5)
    assert sum(weights.values()) == pytest.approx(1.0)
    assert blend_expression({"happy": 3.0}) == EMOTION_POINTS["happy"]


def test_no_usable_probabilities_fall_back_to_the_label_then_neutral() -> None:
    assert blend_expression({}, label="sad") == EMOTION_POINTS["sad"]
    assert blend_expression({"happy": 0.0}, label="not-an-emotion") == EMOTION_POINTS["neutral"]


def test_small_probability_change_moves_the_expression_a_little() -> None:
    base = blend_expression({"happy": 1.0})
    nudged = blend_expression({"happy": 0.98, "sad": 0.02})
    swapped = blend_expression({"happy": 0.3, "sad": 0.7})
    assert expression_distance(base, nudged) < 0.1 * expression_distance(base, swapped)


def test_neutral_is_the_default_expression() -> None:
    assert EMOTION_POINTS["neutral"] == Expression()
