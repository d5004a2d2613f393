"""The frame shape on the real page, in a real Chromium, against the session's real gateway (the frame
output is on by default, ``EMOTICON_FRAME_SHAPE``): a photo of people in clear glasses gives cards that say "Frame: round" or
"Frame: rectangular" for exactly the faces with a frame output, their emoticons have lenses of that shape, and a
redraw through the tone control (``POST /v1/render``) keeps it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import pytest
from conftest import LaunchBrowser
from seed_photos import glasses_group_photo
from test_page import IMAGES_LOADED, api_job, emoticon_svg, open_page, upload

from services.composer.palette import GLASSES_LENS

pytestmark = pytest.mark.browser

LENS_ELEMENT = {"round": "circle", "rectangular": "rect"}


@pytest.fixture(scope="module")
def glasses_photo_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("photos") / "glasses.jpg"
    assert cv2.imwrite(str(path), glasses_group_photo(4), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return path


def lens_tags(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return [e.tag.rsplit("}", 1)[-1] for e in root.iter() if e.attrib.get("fill", "").lower() == GLASSES_LENS]


def test_cards_show_the_frame_shape_of_faces_in_glasses(
    launch_browser: LaunchBrowser, gateway_url: str, glasses_photo_path: Path
):
    faces = api_job(gateway_url, glasses_photo_path)["result"]["faces"]
    framed = [i for i, f in enumerate(faces) if f["attributes"]["frame"] is not None]
    assert len(framed) >= 2, "too few faces in glasses were called glasses for this test to show anything"

    page = open_page(launch_browser(), gateway_url)
    upload(page, glasses_photo_path)
    page.wait_for_function(IMAGES_LOADED, arg="#faces img.emoticon, #overlay")
    cards = page.locator(".face-card")
    assert cards.count() == len(faces)
    for i, face in enumerate(faces):
        note = cards.nth(i).locator(".head-eyewear .frame-note")
        frame = face["attributes"]["frame"]
        if frame is None:
            assert note.count() == 0
            continue
        assert note.inner_text() == f"Frame: {frame['label']}"
        assert f"{frame['label']} glasses" in cards.nth(i).locator("img.emoticon").get_attribute("alt")
        assert lens_tags(emoticon_svg(page, i)) == [LENS_ELEMENT[frame["label"]]] * 2

    # Redrawn in another tone through POST /v1/render: the frame goes with the attributes.
    page.locator("input[name='tone'][value='dark']").check()
    page.wait_for_selector("#results[data-tone='dark']:not([aria-busy])")
    for i in framed:
        label = faces[i]["attributes"]["frame"]["label"]
        assert lens_tags(emoticon_svg(page, i)) == [LENS_ELEMENT[label]] * 2
    assert page.js_errors == []
