"""Helpers of the browser tests (no fixtures here): the Chromium command line, starting the real gateway, and
building real inputs (a group photo, a YUV4MPEG2 camera video). ``screenshot.py`` uses them too."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
from photos import FAIRFACE_FACES, astronaut_bgr, compose_group_photo, fairface_face, group_photo  # noqa: F401

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
READY_TIMEOUT_S = 180.0  # the gateway loads the detector and the four heads before /readyz says ready


def find_chromium() -> str | None:
    """Path of a Chromium binary, or None. ``EMOTICON_CHROMIUM`` overrides the Debian locations."""
    override = os.environ.get("EMOTICON_CHROMIUM")
    candidates = [override] if override else [*CHROMIUM_CANDIDATES, shutil.which("chromium")]
    for path in candidates:
        if path and Path(path).is_file() and os.access(path, os.X_OK):
            return path
    return None


def fake_camera_args(video: Path) -> list[str]:
    """Chromium flags for a fake camera that plays ``video`` (.y4m), permission granted without a prompt."""
    return [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]


# ---- the gateway -----------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gateway(port: int, log_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``python -m services.cli serve --port PORT`` (embedded mode) with its output in ``log_path``."""
    log = log_path.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli", "serve", "--port", str(port), "--host", "127.0.0.1"],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_ready(
    base_url: str, process: subprocess.Popen, log_path: Path, timeout_s: float = READY_TIMEOUT_S
) -> None:
    """Block until ``/readyz`` answers 200; RuntimeError (with the gateway's log) if it exits or never does."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the gateway exited with {process.returncode}:\n{log_path.read_text()[-3000:]}"
            )
        try:
            response = httpx.get(f"{base_url}/readyz", timeout=2)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text}"
        except httpx.HTTPError as exc:
            last = repr(exc)
            response = None
        if response is not None and _has_failed_check(response):
            raise RuntimeError(f"the gateway cannot become ready: {last}")
        time.sleep(0.5)
    raise RuntimeError(
        f"the gateway was not ready after {timeout_s:.0f} s ({last}):\n{log_path.read_text()[-3000:]}"
    )


def _has_failed_check(response: httpx.Response) -> bool:
    """True when ``/readyz`` reports a check that failed for good (e.g. the models did not load), as opposed
    to one still in progress."""
    try:
        checks = response.json().get("checks", {})
    except ValueError:
        return False
    return any(isinstance(v, str) and v.startswith("failed") for v in checks.values())


def stop_gateway(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# ---- real inputs -----------------------------------------------------------------------------------------------


def bgr_to_i420(image_bgr: np.ndarray) -> bytes:
    """HxWx3 uint8 BGR (H, W even) -> one I420 frame: the Y plane, then U and V averaged over 2x2 blocks
    (BT.601 full range, as YUV4MPEG2's ``C420jpeg`` says)."""
    h, w = image_bgr.shape[:2]
    if h % 2 or w % 2:
        raise ValueError(f"I420 needs even sides, got {w}x{h}")
    b, g, r = (image_bgr[:, :, i].astype(np.float32) for i in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    v = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b

    def quarter(plane: np.ndarray) -> np.ndarray:
        return plane.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    planes = [y, quarter(u), quarter(v)]
    return b"".join(np.clip(np.rint(p), 0, 255).astype(np.uint8).tobytes() for p in planes)


def write_y4m(path: Path, frames_bgr: list[np.ndarray], fps: int = 15) -> None:
    """Write frames (all of the first frame's even size, HxWx3 uint8 BGR) as YUV4MPEG2 4:2:0: a text header,
    then ``FRAME\\n`` + raw I420 bytes per frame. Chromium's fake camera loops the file."""
    h, w = frames_bgr[0].shape[:2]
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for frame in frames_bgr:
            if frame.shape[:2] != (h, w):
                raise ValueError("every frame must have the first frame's size")
            out.write(b"FRAME\n")
            out.write(bgr_to_i420(frame))


def sliding_face_frames(face_bgr: np.ndarray, count: int = 30) -> list[np.ndarray]:
    """640x480 frames with ``face_bgr`` (resized to 480x480) sliding left and right once over ``count`` frames,
    so the face moves across the picture."""
    face = cv2.resize(face_bgr, (480, 480), interpolation=cv2.INTER_AREA)
    frames = []
    for i in range(count):
        x = round(80 + 70 * float(np.sin(2 * np.pi * i / count)))
        frame = np.full((480, 640, 3), 40, np.uint8)
        frame[:, x : x + 480] = face
        frames.append(frame)
    return frames
