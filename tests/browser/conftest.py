"""Fixtures of the browser tests: the real gateway (embedded mode, a subprocess on a free port), Debian's
Chromium driven by Playwright with a fresh profile per browser, and real inputs. Only a missing Chromium (or
Playwright) skips these tests; ``scripts/install_browser.sh`` installs both."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from browser_support import (
    CHROMIUM_ARGS,
    FAIRFACE_FACES,
    compose_group_photo,
    fairface_face,
    find_chromium,
    free_port,
    sliding_face_frames,
    start_gateway,
    stop_gateway,
    wait_ready,
    write_y4m,
)

LaunchBrowser = Callable[..., object]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        pytest.skip(
            "Chromium is not installed (looked for /usr/bin/chromium): run scripts/install_browser.sh"
        )
    return path


@pytest.fixture(scope="session")
def playwright_driver(chromium_path: str) -> Iterator[object]:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is missing: run scripts/install_browser.sh"
    )
    with sync_api.sync_playwright() as driver:
        yield driver


@pytest.fixture
def launch_browser(playwright_driver: object, chromium_path: str, tmp_path: Path) -> Iterator[LaunchBrowser]:
    """``launch_browser(extra_args=[...], permissions=[...], viewport={...})`` -> a Playwright BrowserContext
    of a new Chromium with a fresh user-data dir; all are closed after the test."""
    contexts = []

    def launch(
        extra_args: list[str] | None = None,
        permissions: list[str] | None = None,
        viewport: dict[str, int] | None = None,
        device_scale_factor: float = 1,
    ) -> object:
        profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=tmp_path)
        context = playwright_driver.chromium.launch_persistent_context(  # type: ignore[attr-defined]
            profile,
            executable_path=chromium_path,
            headless=True,
            args=[*CHROMIUM_ARGS, *(extra_args or [])],
            permissions=permissions or [],
            viewport=viewport or {"width": 1280, "height": 900},
            device_scale_factor=device_scale_factor,
            accept_downloads=True,
        )
        context.set_default_timeout(30_000)
        contexts.append(context)
        return context

    yield launch
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def gateway_url(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a real gateway (``python -m services.cli serve``, embedded mode), started once per session
    (after ``chromium_path``, so that without a browser no gateway is started only to be skipped)."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("gateway") / "gateway.log"
    process = start_gateway(port, log_path)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base_url, process, log_path)
        yield base_url
    finally:
        stop_gateway(process)


@pytest.fixture(scope="module")
def keyed_gateway(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, key) of a second real gateway that requires ``X-API-Key`` on every /v1 route."""
    key = "browser-test-key"
    port = free_port()
    log_path = tmp_path_factory.mktemp("gateway-keyed") / "gateway.log"
    process = start_gateway(port, log_path, env={"EMOTICON_API_KEYS": json.dumps([key])})
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base_url, process, log_path)
        yield base_url, key
    finally:
        stop_gateway(process)


@pytest.fixture(scope="session")
def group_photo_path(astronaut_bgr: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A JPEG with three real faces: the astronaut and two FairFace people pasted beside it."""
    try:
        faces = [fairface_face(p) for p in FAIRFACE_FACES]
    except FileNotFoundError as exc:
        pytest.fail(str(exc))
    path = tmp_path_factory.mktemp("photos") / "group.jpg"
    assert cv2.imwrite(str(path), compose_group_photo(astronaut_bgr, faces), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return path


@pytest.fixture(scope="session")
def astronaut_path(astronaut_jpeg: bytes, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("photos") / "astronaut.jpg"
    path.write_bytes(astronaut_jpeg)
    return path


@pytest.fixture(scope="session")
def camera_video_path(astronaut_bgr: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3.75 s loop, 640x480 at 8 fps, of the astronaut sliding left and right, for Chromium's fake camera
    (slow enough that a round trip of a few hundred ms keeps the emoticon on the face)."""
    path = tmp_path_factory.mktemp("camera") / "astronaut.y4m"
    write_y4m(path, sliding_face_frames(astronaut_bgr, count=30), fps=8)
    return path
