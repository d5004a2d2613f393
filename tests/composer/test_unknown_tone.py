"""A face whose skin tone the classifier cannot tell (label "unknown"): with tone=auto it is drawn in the default
yellow, its emoji string has no person and no skin-tone modifier, and the title says the tone is unknown; an
override still wins."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from services.composer import emoji_for, render_png, render_svg
from services.composer.palette import SKIN_FILLS, TONE_MODIFIERS, hex_to_rgb, resolve_tone, tone_unknown
from services.contracts import SKIN_TONES, TONE_UNKNOWN, RenderOptions

SVG_NS = "{http://www.w3.org/2000/svg}"
PERSON = "\U0001f9d1"
SKIN_REGION = (slice(118, 134), slice(112, 144))  # between the eyes, above the nose (drawing.py's layout)


def svg_fills(svg: str) -> set[str]:
    return {
        element.attrib["fill"].lower() for element in ET.fromstring(svg).iter() if "fill" in element.attrib
    }


def svg_title(svg: str) -> str:
    title = ET.fromstring(svg).find(f"{SVG_NS}title")
    assert title is not None and title.text
    return title.text


def palette_logs(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "services.composer.palette"]


def test_the_unknown_label_is_not_a_head_output() -> None:
    # The manifest check compares the heads' labels with SKIN_TONES: "unknown" is decided after the head.
    assert TONE_UNKNOWN == "unknown" and TONE_UNKNOWN not in SKIN_TONES


def test_auto_with_an_unknown_tone_resolves_to_yellow_without_a_warning(make_face, caplog) -> None:
    face = make_face("happy", skin_tone=TONE_UNKNOWN)
    with caplog.at_level(logging.WARNING, logger="services.composer.palette"):
        assert resolve_tone(face, "auto") == "yellow"
    assert palette_logs(caplog) == [], "an unknown tone is an expected answer, not a vocabulary mismatch"
    assert tone_unknown(face, "auto")


def test_an_unrecognised_label_still_falls_back_to_yellow_with_a_warning(make_face, caplog) -> None:
    face = make_face("happy")
    face.skin_tone.label = "purple"  # not a tone and not "unknown": a classifier/contract mismatch
    with caplog.at_level(logging.WARNING, logger="services.composer.palette"):
        assert resolve_tone(face, "auto") == "yellow"
    assert palette_logs(caplog) == ["unrecognised skin tone label, drawing yellow"]
    assert not tone_unknown(face, "auto")


@pytest.mark.parametrize("tone", ["yellow", *SKIN_TONES])
def test_an_override_wins_over_an_unknown_tone(make_face, tone: str) -> None:
    face = make_face("happy", skin_tone=TONE_UNKNOWN)
    assert resolve_tone(face, tone) == tone
    assert not tone_unknown(face, tone)


@pytest.mark.parametrize(
    ("emotion", "eyewear", "mask", "expected"),
    [
        ("happy", "none", "none", "😄"),
        ("sad", "sunglasses", "none", "😢🕶️"),
        ("angry", "glasses", "mask", "😷👓"),
    ],
)
def test_unknown_tone_emoji_has_no_person_and_no_modifier(
    make_face, emotion: str, eyewear: str, mask: str, expected: str
) -> None:
    text = emoji_for(make_face(emotion, eyewear, mask, skin_tone=TONE_UNKNOWN))
    assert text == expected
    assert PERSON not in text and not set(text) & set(TONE_MODIFIERS.values())


@pytest.mark.parametrize("tone", SKIN_TONES)
def test_an_override_gives_the_unknown_face_its_toned_person(make_face, tone: str) -> None:
    face = make_face("happy", skin_tone=TONE_UNKNOWN)
    assert emoji_for(face, tone) == "😄" + PERSON + TONE_MODIFIERS[tone]
    assert emoji_for(face, "yellow") == "😄"


def test_unknown_tone_svg_is_yellow_and_its_title_says_unknown(make_face) -> None:
    svg = render_svg(make_face("happy", "glasses", skin_tone=TONE_UNKNOWN), RenderOptions())
    fills = svg_fills(svg)
    assert SKIN_FILLS["yellow"] in fills
    assert not fills & {SKIN_FILLS[t] for t in SKIN_TONES}, "no human skin fill when the tone is unknown"
    title = svg_title(svg)
    assert title.endswith("skin tone unknown (yellow)") and "happy 100%" in title and "glasses" in title
    # The same face with a known tone is titled by that tone, not as unknown.
    assert svg_title(render_svg(make_face("happy", "glasses", skin_tone="dark"), RenderOptions())).endswith(
        "dark skin"
    )


@pytest.mark.parametrize("tone", ["yellow", "light", "dark"])
def test_unknown_tone_svg_with_an_override_is_drawn_and_titled_in_that_tone(make_face, tone: str) -> None:
    svg = render_svg(make_face("sad", skin_tone=TONE_UNKNOWN), RenderOptions(tone=tone))
    fills = svg_fills(svg)
    assert SKIN_FILLS[tone] in fills
    assert not fills & {fill for name, fill in SKIN_FILLS.items() if name != tone}
    assert svg_title(svg).endswith(f"{tone} skin") and "unknown" not in svg_title(svg)


def test_unknown_tone_png_pixels_are_yellow(make_face, png_pixels) -> None:
    image = png_pixels(render_png(make_face("neutral", skin_tone=TONE_UNKNOWN), RenderOptions(tone="auto")))
    median = np.median(image[SKIN_REGION].reshape(-1, 4)[:, :3], axis=0)[::-1]  # BGR -> RGB
    assert np.abs(median - np.array(hex_to_rgb(SKIN_FILLS["yellow"]))).max() <= 2
