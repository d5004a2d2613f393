"""The web page in a real headless Chromium against the real gateway (embedded mode): photo upload, tone control,
errors, the webcam (Chromium's fake camera playing a video of a real face), live mode, phone-sized screens."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import cv2
import httpx
import pytest
from browser_support import fake_camera_args
from conftest import LaunchBrowser

from services.composer.palette import SKIN_FILLS

pytestmark = pytest.mark.browser

LIVE_ROUND_TRIPS = 5  # live mode must reach this many analysed frames
LIVE_MEASURE_S = 10.0  # then its rate is measured over this long
# Where the live emoticon is on screen, in CSS px (it is moved by a transform), or null when there is none.
STICKER_LEFT = (
    "(() => { const img = document.querySelector('#live-layer img.sticker');"
    " return img ? Math.round(img.getBoundingClientRect().left) : null; })()"
)
IMAGES_LOADED = (
    "sel => [...document.querySelectorAll(sel)].length > 0 && "
    "[...document.querySelectorAll(sel)].every(i => i.complete && i.naturalWidth > 0)"
)


def open_page(context: object, gateway_url: str) -> object:
    page = context.pages[0] if context.pages else context.new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{gateway_url}/")
    page.wait_for_selector("html[data-ready='true']")
    page.js_errors = errors  # checked by tests that expect a clean run
    return page


def api_job(gateway_url: str, path: Path) -> dict:
    """The finished job for ``path`` straight from the API (the page must agree with it)."""
    with path.open("rb") as f:
        response = httpx.post(
            f"{gateway_url}/v1/jobs", params={"wait": 20}, files={"file": (path.name, f)}, timeout=30
        )
    assert response.status_code == 200, response.text
    return response.json()


def upload(page: object, path: Path) -> None:
    page.set_input_files("#file-input", str(path))  # type: ignore[attr-defined]
    page.wait_for_selector("#results:not([hidden])")  # type: ignore[attr-defined]


def emoticon_svg(page: object, card_index: int = 0) -> str:
    """The SVG text the page currently shows for a face card (its <img> src is a server URL or a blob URL)."""
    return page.evaluate(  # type: ignore[attr-defined]
        "i => fetch(document.querySelectorAll('.face-card img.emoticon')[i].src).then(r => r.text())",
        card_index,
    )


def test_group_photo_gives_one_card_per_face(
    launch_browser: LaunchBrowser, gateway_url: str, group_photo_path: Path
):
    expected = api_job(gateway_url, group_photo_path)["result"]["faces"]
    assert len(expected) >= 2, "the detector should find the faces of the composed group photo"

    page = open_page(launch_browser(permissions=["clipboard-read", "clipboard-write"]), gateway_url)
    upload(page, group_photo_path)

    assert page.locator(".face-card").count() == len(expected)
    assert page.locator("#photo-boxes .face-box").count() == len(expected)
    assert page.get_attribute("#results", "data-face-count") == str(len(expected))
    page.wait_for_function(IMAGES_LOADED, arg="#faces img.emoticon, #overlay, #photo")
    for i, face in enumerate(expected):
        card = page.locator(".face-card").nth(i)
        assert card.locator(".emoji").inner_text() == face["emoji"]
        top = face["attributes"]["emotion"]["label"].replace("_", " ")
        assert card.locator(".head-emotion .bar-row.top .bar-label").inner_text() == top
        assert card.locator(".head-emotion .bar-row").count() == len(
            face["attributes"]["emotion"]["probabilities"]
        )
        assert "<svg" in emoticon_svg(page, i)

    # Every picture has alt text and every control a name a screen reader can say.
    assert page.evaluate("[...document.querySelectorAll('#results img')].every(i => i.alt.trim().length > 0)")
    assert page.evaluate(
        "[...document.querySelectorAll('button, a.btn')].every(b => (b.getAttribute('aria-label') || b.textContent).trim())"
    )

    page.locator(".face-card .copy").first.click()
    page.wait_for_function("document.querySelector('.face-card .copy').textContent === 'Copied!'")
    assert page.evaluate("navigator.clipboard.readText()") == expected[0]["emoji"]
    assert page.js_errors == []


def test_dropping_a_photo_on_the_page_analyses_it(
    launch_browser: LaunchBrowser, gateway_url: str, astronaut_jpeg: bytes
):
    page = open_page(launch_browser(), gateway_url)
    transfer = page.evaluate_handle(
        """b64 => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], "astronaut.jpg", {type: "image/jpeg"}));
            return transfer;
        }""",
        base64.b64encode(astronaut_jpeg).decode("ascii"),
    )
    page.dispatch_event("#drop-zone", "dragenter", {"dataTransfer": transfer})
    assert "dragging" in page.get_attribute("#drop-zone", "class")
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": transfer})
    page.wait_for_selector("#results:not([hidden])")
    assert page.locator(".face-card").count() == 1
    assert "dragging" not in page.get_attribute("#drop-zone", "class")


def test_png_download_has_the_chosen_size(
    launch_browser: LaunchBrowser, gateway_url: str, astronaut_path: Path
):
    page = open_page(launch_browser(), gateway_url)
    upload(page, astronaut_path)
    page.select_option("#png-size", "128")
    with page.expect_download() as info:
        page.locator(".face-card button", has_text="PNG").first.click()
    saved = Path(info.value.path())
    data = saved.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (128, 128)


def test_tone_control_redraws_with_the_chosen_skin(
    launch_browser: LaunchBrowser, gateway_url: str, astronaut_path: Path
):
    page = open_page(launch_browser(), gateway_url)
    upload(page, astronaut_path)
    page.wait_for_function(IMAGES_LOADED, arg="#faces img.emoticon")
    face = api_job(gateway_url, astronaut_path)["result"]["faces"][0]

    for tone in ("dark", "yellow", "light"):
        page.locator(f"input[name='tone'][value='{tone}']").check()
        page.wait_for_selector(f"#results[data-tone='{tone}']:not([aria-busy])")
        svg = emoticon_svg(page)
        assert SKIN_FILLS[tone] in svg.lower(), f"{tone}: the face is not drawn in {SKIN_FILLS[tone]}"
        others = [fill for name, fill in SKIN_FILLS.items() if name != tone]
        assert not any(f'fill="{fill}"' in svg.lower() for fill in others)
        rendered = httpx.post(
            f"{gateway_url}/v1/render",
            json={"attributes": face["attributes"], "options": {"tone": tone}, "format": "json"},
            timeout=30,
        ).json()
        assert page.locator(".face-card .emoji").first.inner_text() == rendered["emoji"]


def test_text_file_named_jpg_shows_a_friendly_error(
    launch_browser: LaunchBrowser, gateway_url: str, tmp_path: Path
):
    fake = tmp_path / "holiday.jpg"
    fake.write_text("These are my holiday notes, not a photo.\n" * 20)
    api = httpx.post(f"{gateway_url}/v1/jobs", files={"file": (fake.name, fake.read_bytes(), "image/jpeg")})
    assert 400 <= api.status_code < 500
    code, server_message = api.json()["error"]["code"], api.json()["error"]["message"]

    page = open_page(launch_browser(), gateway_url)
    page.set_input_files("#file-input", str(fake))
    page.wait_for_selector("#error:not([hidden])")
    assert page.get_attribute("#error", "data-code") == code
    shown = page.inner_text("#error")
    assert "photo" in shown.lower() and server_message not in shown
    assert page.is_hidden("#results")
    assert page.js_errors == []


def test_no_face_is_a_friendly_result(launch_browser: LaunchBrowser, gateway_url: str, tmp_path: Path):
    from skimage import data

    coffee = tmp_path / "coffee.png"  # a real photo of a cup: no face in it
    cv2.imwrite(str(coffee), data.coffee()[:, :, ::-1])
    assert api_job(gateway_url, coffee)["result"]["faces"] == []

    page = open_page(launch_browser(), gateway_url)
    upload(page, coffee)
    assert page.locator(".face-card").count() == 0
    assert "no face" in page.inner_text("#result-summary").lower()
    assert page.is_hidden("#overlay-figure")


def test_phone_screen_has_no_sideways_scroll(
    launch_browser: LaunchBrowser, gateway_url: str, group_photo_path: Path
):
    page = open_page(
        launch_browser(viewport={"width": 360, "height": 740}, device_scale_factor=2), gateway_url
    )
    upload(page, group_photo_path)
    page.wait_for_function(IMAGES_LOADED, arg="#faces img.emoticon")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # The photo picker is reachable with the keyboard (first tab stops: skip link, then the file input).
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "file-input"


def test_webcam_snapshot_gives_an_emoticon(
    launch_browser: LaunchBrowser, gateway_url: str, camera_video_path: Path
):
    context = launch_browser(extra_args=fake_camera_args(camera_video_path), permissions=["camera"])
    page = open_page(context, gateway_url)
    page.click("#camera-toggle")
    page.wait_for_function("document.querySelector('#video').videoWidth > 0")
    assert page.get_attribute("#camera-toggle", "aria-pressed") == "true"
    page.click("#camera-snapshot")
    page.wait_for_selector("#results:not([hidden])")
    assert page.locator(".face-card").count() >= 1
    page.wait_for_function(IMAGES_LOADED, arg="#faces img.emoticon")
    assert "<svg" in emoticon_svg(page)
    assert page.js_errors == []


def test_live_mode_follows_the_face_and_counts_round_trips(
    launch_browser: LaunchBrowser, gateway_url: str, camera_video_path: Path, record_property
):
    context = launch_browser(extra_args=fake_camera_args(camera_video_path), permissions=["camera"])
    page = open_page(context, gateway_url)
    page.click("#camera-toggle")
    page.wait_for_function("document.querySelector('#video').videoWidth > 0")
    page.check("#live-toggle")
    page.wait_for_function(
        f"Number(document.querySelector('#live-count').textContent) >= {LIVE_ROUND_TRIPS}", timeout=90_000
    )
    page.wait_for_function(IMAGES_LOADED, arg="#live-layer img.sticker")

    # The face slides left and right in the video: the emoticon must move with it.
    positions = set()
    count0, t0 = int(page.inner_text("#live-count")), time.monotonic()
    while time.monotonic() - t0 < LIVE_MEASURE_S:
        positions.add(page.evaluate(STICKER_LEFT))
        time.sleep(0.25)
    count1, t1 = int(page.inner_text("#live-count")), time.monotonic()
    measured = (count1 - count0) / (t1 - t0)
    shown = float(page.inner_text("#live-rate"))
    latency_ms = float(page.inner_text("#live-latency"))
    server_ms = float(page.inner_text("#live-server"))
    record_property("live_round_trips_per_s", round(measured, 2))
    print(
        json.dumps(
            {
                "live_round_trips_per_s": round(measured, 2),
                "page_rate": shown,
                "last_ms": latency_ms,
                "server_ms": server_ms,
            }
        )
    )

    assert measured > 0
    assert 0 < server_ms <= latency_ms
    assert len(positions - {None}) >= 2, "the emoticon did not follow the moving face"
    assert shown == pytest.approx(measured, rel=0.5)
    page.uncheck("#live-toggle")
    assert page.locator("#live-layer img").count() == 0
    assert page.js_errors == []


def test_live_mode_sends_the_next_frame_while_one_is_analysed_and_stops_sending(
    launch_browser: LaunchBrowser, gateway_url: str, camera_video_path: Path
):
    context = launch_browser(extra_args=fake_camera_args(camera_video_path), permissions=["camera"])
    page = open_page(context, gateway_url)
    in_flight: set[object] = set()
    started: list[object] = []
    most = [0]

    def is_frame(request: object) -> bool:
        return request.method == "POST" and "/v1/jobs" in request.url  # type: ignore[attr-defined]

    def on_start(request: object) -> None:
        if is_frame(request):
            started.append(request)
            in_flight.add(request)
            most[0] = max(most[0], len(in_flight))

    def on_end(request: object) -> None:
        in_flight.discard(request)

    page.on("request", on_start)
    page.on("requestfinished", on_end)
    page.on("requestfailed", on_end)
    page.click("#camera-toggle")
    page.wait_for_function("document.querySelector('#video').videoWidth > 0")
    page.check("#live-toggle")
    page.wait_for_function(
        f"Number(document.querySelector('#live-count').textContent) >= {LIVE_ROUND_TRIPS}", timeout=90_000
    )
    # Two lanes: a frame is on its way while the server analyses the one before, never more than two.
    assert most[0] == 2, f"at most {most[0]} live frames were in flight at once"

    # Off and on again at once: the first session's lanes end, the new one goes on counting.
    page.uncheck("#live-toggle")
    page.check("#live-toggle")
    count = int(page.inner_text("#live-count"))
    page.wait_for_function(
        f"Number(document.querySelector('#live-count').textContent) >= {count + LIVE_ROUND_TRIPS}",
        timeout=90_000,
    )
    page.uncheck("#live-toggle")
    page.wait_for_timeout(1500)  # the frames already sent come back; no lane sends another
    sent = len(started)
    page.wait_for_timeout(1500)
    assert len(started) == sent, "live mode went on sending frames after it was turned off"
    assert not in_flight
    assert page.locator("#live-layer img").count() == 0
    assert page.js_errors == []


@pytest.mark.parametrize(
    ("extra_args", "code"),
    [
        # A camera exists but the permission prompt is refused.
        (["--use-fake-device-for-media-stream", "--deny-permission-prompts"], "denied"),
        # Permission granted, but the machine has no camera at all (a headless test machine has none).
        (["--use-fake-ui-for-media-stream"], "absent"),
    ],
)
def test_camera_problems_get_a_clear_message(
    launch_browser: LaunchBrowser, gateway_url: str, extra_args: list[str], code: str
):
    if code == "absent" and list(Path("/dev").glob("video*")):
        pytest.skip("this machine has a real camera, so 'no camera' cannot be produced here")
    page = open_page(launch_browser(extra_args=extra_args), gateway_url)
    page.click("#camera-toggle")
    page.wait_for_selector("#error:not([hidden])")
    assert page.get_attribute("#camera-message", "data-code") == code
    assert "camera" in page.inner_text("#error").lower()
    assert page.get_attribute("#camera-toggle", "aria-pressed") == "false"
    assert page.is_disabled("#camera-snapshot")


def test_api_key_is_asked_for_and_then_used(
    launch_browser: LaunchBrowser, keyed_gateway: tuple[str, str], astronaut_path: Path
):
    base_url, key = keyed_gateway
    page = open_page(launch_browser(), base_url)
    page.set_input_files("#file-input", str(astronaut_path))
    page.wait_for_selector("#error:not([hidden])")
    assert page.get_attribute("#error", "data-code") == "unauthorized"
    assert page.is_visible("#api-key")  # the panel opened by itself

    page.fill("#api-key", key)
    page.press("#api-key", "Enter")
    upload(page, astronaut_path)
    assert page.is_hidden("#error")
    # <img> cannot send the key: the renders must have been fetched with it and shown from blob URLs.
    page.wait_for_function(IMAGES_LOADED, arg="#faces img.emoticon, #overlay")
    assert page.evaluate("document.querySelector('#overlay').src").startswith("blob:")
    page.reload()
    assert page.input_value("#api-key") == key  # remembered on this device
