"""``POST /v1/render`` with a face whose skin tone the classifier could not tell (label "unknown"), over HTTP
against the real app: tone=auto draws the default yellow and the emoji has no skin-tone modifier; an override
wins; the OpenAPI schema says the label can be "unknown"."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from services.composer.palette import SKIN_FILLS, TONE_MODIFIERS, hex_to_rgb
from services.contracts import EMOTIONS, EYEWEAR, MASKS, SKIN_TONES, TONE_UNKNOWN

PERSON = "\U0001f9d1"
HUMAN_FILLS = {SKIN_FILLS[t] for t in SKIN_TONES}
SKIN_PIXELS = (slice(118, 134), slice(112, 144))  # between the eyes of a 256 px render (drawing.py's layout)


def one_hot(labels: tuple[str, ...], label: str) -> dict:
    return {"label": label, "probabilities": {name: float(name == label) for name in labels}}


def unknown_tone_attributes() -> dict:
    """A happy face without eyewear or mask whose tone is "unknown"; the five probabilities lean to "dark", so a
    render that followed them instead of the label would show it."""
    return {
        "emotion": one_hot(EMOTIONS, "happy"),
        "eyewear": one_hot(EYEWEAR, "none"),
        "mask": one_hot(MASKS, "none"),
        "skin_tone": {
            "label": TONE_UNKNOWN,
            "probabilities": {
                "light": 0.05,
                "medium_light": 0.05,
                "medium": 0.1,
                "medium_dark": 0.2,
                "dark": 0.6,
            },
        },
    }


def render(client: TestClient, tone: str, fmt: str):
    response = client.post(
        "/v1/render",
        json={"attributes": unknown_tone_attributes(), "options": {"tone": tone, "size": 256}, "format": fmt},
    )
    assert response.status_code == 200, response.text
    return response


def fills_and_title(svg: str) -> tuple[set[str], str]:
    root = ET.fromstring(svg)
    title = root.find("{http://www.w3.org/2000/svg}title")
    assert title is not None and title.text
    return {e.attrib["fill"].lower() for e in root.iter() if "fill" in e.attrib}, title.text


def test_auto_renders_an_unknown_tone_yellow_with_no_modifier(client: TestClient) -> None:
    body = render(client, "auto", "json").json()
    assert body["emoji"] == "😄"
    assert PERSON not in body["emoji"] and not set(body["emoji"]) & set(TONE_MODIFIERS.values())
    fills, title = fills_and_title(body["svg"])
    assert SKIN_FILLS["yellow"] in fills and not fills & HUMAN_FILLS
    assert "skin tone unknown" in title

    svg = render(client, "auto", "svg")
    assert svg.headers["content-type"].startswith("image/svg+xml") and svg.text == body["svg"]

    png = render(client, "auto", "png")
    image = cv2.imdecode(np.frombuffer(png.content, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image is not None and image.shape == (256, 256, 4)
    median_rgb = np.median(image[SKIN_PIXELS].reshape(-1, 4)[:, :3], axis=0)[::-1]
    assert np.abs(median_rgb - np.array(hex_to_rgb(SKIN_FILLS["yellow"]))).max() <= 2


@pytest.mark.parametrize("tone", ["light", "medium", "dark"])
def test_a_tone_override_wins_over_unknown(client: TestClient, tone: str) -> None:
    body = render(client, tone, "json").json()
    assert body["emoji"] == "😄" + PERSON + TONE_MODIFIERS[tone]
    fills, title = fills_and_title(body["svg"])
    assert SKIN_FILLS[tone] in fills and SKIN_FILLS["yellow"] not in fills
    assert "unknown" not in title


def test_the_schema_says_the_skin_tone_can_be_unknown(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    skin_tone = schemas["FaceAttributes"]["properties"]["skin_tone"]
    assert '"unknown"' in skin_tone["description"] and "yellow" in skin_tone["description"]
    assert '"unknown"' in schemas["HeadOutput"]["properties"]["label"]["description"]
