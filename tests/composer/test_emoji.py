"""emoji_for: the documented mapping from attributes (and tone) to an emoji string."""

from __future__ import annotations

import pytest

from services.composer import emoji_for
from services.composer.emoji import FACE_EMOJI, nearest_face_emoji
from services.composer.expression import EMOTION_POINTS

PERSON = "\U0001f9d1"
MODIFIERS = {
    "light": "\U0001f3fb",
    "medium_light": "\U0001f3fc",
    "medium": "\U0001f3fd",
    "medium_dark": "\U0001f3fe",
    "dark": "\U0001f3ff",
}


@pytest.mark.parametrize(
    ("emotion", "face"),
    [
        ("angry", "😠"),
        ("disgust", "🤢"),
        ("fear", "😨"),
        ("happy", "😄"),
        ("neutral", "😐"),
        ("sad", "😢"),
        ("surprise", "😮"),
    ],
)
def test_each_pure_emotion_has_its_face(make_face, emotion: str, face: str) -> None:
    assert emoji_for(make_face(emotion), tone="yellow") == face


@pytest.mark.parametrize(("tone", "modifier"), MODIFIERS.items())
def test_a_human_tone_appends_a_toned_person(make_face, tone: str, modifier: str) -> None:
    assert emoji_for(make_face("happy", skin_tone=tone)) == "😄" + PERSON + modifier
    # An override beats the classifier's label.
    assert emoji_for(make_face("happy", skin_tone="light"), tone=tone).endswith(PERSON + modifier)


def test_yellow_adds_no_person(make_face) -> None:
    assert PERSON not in emoji_for(make_face("sad", skin_tone="dark"), tone="yellow")


@pytest.mark.parametrize("mask", ["mask", "mask_incorrect"])
def test_a_mask_makes_the_face_the_mask_emoji(make_face, mask: str) -> None:
    assert emoji_for(make_face("angry", mask=mask), tone="yellow") == "😷"
    assert (
        emoji_for(make_face("happy", "sunglasses", mask), tone="medium")
        == "😷🕶️" + PERSON + MODIFIERS["medium"]
    )


def test_eyewear_on_a_cheerful_face_replaces_it(make_face) -> None:
    assert emoji_for(make_face("happy", "sunglasses"), tone="yellow") == "😎"
    assert emoji_for(make_face("neutral", "glasses"), tone="yellow") == "🤓"


def test_eyewear_on_an_unhappy_face_is_added_after_it(make_face) -> None:
    assert emoji_for(make_face("sad", "sunglasses"), tone="yellow") == "😢🕶️"
    assert emoji_for(make_face("angry", "glasses"), tone="yellow") == "😠👓"


@pytest.mark.parametrize(
    ("probabilities", "face"),
    [
        ({"happy": 0.6, "surprise": 0.4}, "😃"),
        ({"happy": 0.5, "neutral": 0.5}, "🙂"),
        ({"sad": 0.5, "fear": 0.5}, "😟"),
        ({"happy": 0.9, "neutral": 0.1}, "😄"),
    ],
)
def test_blends_pick_the_closest_face(make_face, probabilities: dict[str, float], face: str) -> None:
    assert emoji_for(make_face(probabilities), tone="yellow") == face


def test_every_catalogue_face_is_its_own_nearest() -> None:
    for face, expression in FACE_EMOJI.items():
        assert nearest_face_emoji(expression) == face
    assert set(EMOTION_POINTS.values()) <= set(FACE_EMOJI.values())
