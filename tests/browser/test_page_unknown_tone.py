"""A face whose skin tone the classifier could not tell (label "unknown") on the real page, in a real Chromium,
against the real gateway: its card says so in words, its emoticon is yellow with no skin-tone modifier in the
emoji, and the tone control still draws it in the tone the user picks.

Until the classifier answers "unknown" itself (issue 10: greyscale photos), the page is given that answer: the
group photo is analysed by the real server first, and when the page uploads it the answer it gets is that real
job with one face's skin_tone label set to "unknown" (its emoji from ``POST /v1/render``); that face's SVG is the
real ``POST /v1/render`` of the rewritten attributes. Everything else (the other faces, the overlay, every redraw
through the tone control) is the real server's.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import httpx
import pytest
from conftest import LaunchBrowser
from test_page import IMAGES_LOADED, api_job, emoticon_svg, open_page, upload

from services.composer.palette import SKIN_FILLS, TONE_MODIFIERS
from services.contracts import SKIN_TONES, TONE_UNKNOWN

pytestmark = pytest.mark.browser

PERSON = "\U0001f9d1"
UNKNOWN_FACE = 1  # which face of the group photo is given the unknown tone
UPLOAD = re.compile(r"/v1/jobs(\?.*)?$")
FACE_SVG = re.compile(r"/v1/jobs/[0-9a-f]+/faces/(\d+)\.svg(\?.*)?$")


def server_render(gateway_url: str, attributes: dict, tone: str) -> dict:
    response = httpx.post(
        f"{gateway_url}/v1/render",
        json={"attributes": attributes, "options": {"tone": tone}, "format": "json"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def with_unknown_tone(face: dict) -> dict:
    """The face's attributes with skin_tone label "unknown" (the five probabilities kept, as the contract says)."""
    attributes = json.loads(json.dumps(face["attributes"]))
    attributes["skin_tone"]["label"] = TONE_UNKNOWN
    return attributes


def serve_one_unknown_tone_face(page: object, gateway_url: str, photo: Path) -> dict:
    """Route the page's upload and that face's SVG as described in the module docstring. Returns what is served:
    ``job`` (the rewritten job JSON), ``attributes`` and ``render`` (the /v1/render JSON for tone auto)."""
    job = api_job(gateway_url, photo)
    faces = job["result"]["faces"]
    assert len(faces) > UNKNOWN_FACE, "the group photo must have the face that is given the unknown tone"
    attributes = with_unknown_tone(faces[UNKNOWN_FACE])
    render = server_render(gateway_url, attributes, job["options"]["tone"])
    faces[UNKNOWN_FACE]["attributes"], faces[UNKNOWN_FACE]["emoji"] = attributes, render["emoji"]

    def upload_answer(route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        route.fulfill(status=200, content_type="application/json", body=json.dumps(job))

    def face_svg(route) -> None:
        if int(FACE_SVG.search(route.request.url).group(1)) != UNKNOWN_FACE:
            route.continue_()
            return
        route.fulfill(status=200, content_type="image/svg+xml", body=render["svg"])

    page.route(UPLOAD, upload_answer)  # type: ignore[attr-defined]
    page.route(FACE_SVG, face_svg)  # type: ignore[attr-defined]
    return {"job": job, "attributes": attributes, "render": render}


def card(page: object, index: int):
    return page.locator(".face-card").nth(index)  # type: ignore[attr-defined]


def assert_drawn_in(svg: str, palette: str) -> None:
    svg = svg.lower()
    assert f'fill="{SKIN_FILLS[palette]}"' in svg, f"the face is not drawn in {palette}"
    assert not any(f'fill="{fill}"' in svg for name, fill in SKIN_FILLS.items() if name != palette)


def test_an_unknown_tone_face_says_so_and_the_tone_control_still_works(
    launch_browser: LaunchBrowser, gateway_url: str, group_photo_path: Path
):
    page = open_page(launch_browser(), gateway_url)
    served = serve_one_unknown_tone_face(page, gateway_url, group_photo_path)
    upload(page, group_photo_path)
    page.wait_for_function(IMAGES_LOADED, arg="#faces img.emoticon, #overlay")
    count = page.locator(".face-card").count()
    assert count == len(served["job"]["result"]["faces"])

    # The unknown face: said in words, drawn yellow, its emoji without a person or a skin-tone modifier.
    unknown = card(page, UNKNOWN_FACE)
    assert (
        unknown.locator(".head-skin_tone .tone-note").inner_text() == "Skin tone: can't tell (drawn yellow)"
    )
    emoji = unknown.locator(".emoji").inner_text()
    assert emoji == served["render"]["emoji"]
    assert PERSON not in emoji and not set(emoji) & set(TONE_MODIFIERS.values())
    svg = emoticon_svg(page, UNKNOWN_FACE)
    assert_drawn_in(svg, "yellow")
    assert "skin tone unknown" in svg
    assert "skin tone unknown" in unknown.locator("img.emoticon").get_attribute("alt")
    # The five probabilities are still shown, none of them as the answer.
    assert unknown.locator(".head-skin_tone .bar-row").count() == len(SKIN_TONES)
    assert unknown.locator(".head-skin_tone .bar-row.top").count() == 0

    # The faces whose tone was told have no such note, and a human tone in their emoji.
    for i in range(count):
        if i != UNKNOWN_FACE:
            assert card(page, i).locator(".tone-note").count() == 0
            assert PERSON in card(page, i).locator(".emoji").inner_text()

    # The tone control still picks a tone for it, and "auto" brings back the yellow "can't tell".
    page.locator("input[name='tone'][value='dark']").check()
    page.wait_for_selector("#results[data-tone='dark']:not([aria-busy])")
    assert_drawn_in(emoticon_svg(page, UNKNOWN_FACE), "dark")
    assert (
        unknown.locator(".emoji").inner_text()
        == server_render(gateway_url, served["attributes"], "dark")["emoji"]
    )
    assert unknown.locator(".emoji").inner_text().endswith(PERSON + TONE_MODIFIERS["dark"])
    assert unknown.locator(".tone-note").inner_text() == "Skin tone: can't tell (drawn dark, as you chose)"

    page.locator("input[name='tone'][value='auto']").check()
    page.wait_for_selector("#results[data-tone='auto']:not([aria-busy])")
    assert_drawn_in(emoticon_svg(page, UNKNOWN_FACE), "yellow")
    assert unknown.locator(".emoji").inner_text() == served["render"]["emoji"]
    assert unknown.locator(".tone-note").inner_text() == "Skin tone: can't tell (drawn yellow)"
    assert page.js_errors == []


@pytest.fixture(scope="module")
def greyscale_photo_path(astronaut_bgr, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The astronaut photo in greyscale (a one-channel JPEG): no colour, so no tone can be told."""
    path = tmp_path_factory.mktemp("photos") / "astronaut-grey.jpg"
    assert cv2.imwrite(
        str(path), cv2.cvtColor(astronaut_bgr, cv2.COLOR_BGR2GRAY), [cv2.IMWRITE_JPEG_QUALITY, 92]
    )
    return path


def test_a_greyscale_photo_gets_an_unknown_tone_card(
    launch_browser: LaunchBrowser, gateway_url: str, greyscale_photo_path: Path
):
    face = api_job(gateway_url, greyscale_photo_path)["result"]["faces"][0]
    assert face["attributes"]["skin_tone"]["label"] == TONE_UNKNOWN
    assert PERSON not in face["emoji"]

    page = open_page(launch_browser(), gateway_url)
    upload(page, greyscale_photo_path)
    page.wait_for_function(IMAGES_LOADED, arg="#faces img.emoticon")
    assert card(page, 0).locator(".tone-note").inner_text() == "Skin tone: can't tell (drawn yellow)"
    assert card(page, 0).locator(".emoji").inner_text() == face["emoji"]
    assert_drawn_in(emoticon_svg(page, 0), "yellow")
    assert page.js_errors == []
