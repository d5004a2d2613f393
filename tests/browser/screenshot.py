"""Regenerate ``docs/screenshot.png``: the page with a real result (the group photo of the browser tests).

    python tests/browser/screenshot.py [--out docs/screenshot.png] [--width 1200]

Starts the real gateway (embedded mode) on a free port and Debian's Chromium, as the browser tests do.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the shared photo helpers

import cv2
from browser_support import (
    CHROMIUM_ARGS,
    REPO_ROOT,
    find_chromium,
    free_port,
    group_photo,
    start_gateway,
    stop_gateway,
    wait_ready,
)
from PIL import Image

MAX_BYTES = 1_000_000
IMAGES_LOADED = (
    "[...document.querySelectorAll('#faces img, #overlay, #photo')].every(i => i.complete && i.naturalWidth)"
)


def shrink_png(png: bytes, max_bytes: int = MAX_BYTES) -> bytes:
    """The PNG as it is if small enough, else re-encoded with an adaptive 256-colour palette."""
    if len(png) <= max_bytes:
        return png
    image = Image.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG).save(
        out, format="PNG", optimize=True
    )
    return out.getvalue()


def take_screenshot(out: Path, width: int) -> int:
    """Write the screenshot to ``out``; returns its size in bytes."""
    from playwright.sync_api import sync_playwright

    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("Chromium is not installed: run scripts/install_browser.sh")
    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / "group.jpg"
        cv2.imwrite(str(photo), group_photo(), [cv2.IMWRITE_JPEG_QUALITY, 92])
        port, log_path = free_port(), Path(tmp) / "gateway.log"
        process = start_gateway(port, log_path)
        try:
            wait_ready(f"http://127.0.0.1:{port}", process, log_path)
            with sync_playwright() as driver:
                context = driver.chromium.launch_persistent_context(
                    str(Path(tmp) / "profile"),
                    executable_path=chromium,
                    headless=True,
                    args=CHROMIUM_ARGS,
                    viewport={"width": width, "height": 900},
                    color_scheme="light",
                )
                page = context.pages[0] if context.pages else context.new_page()
                page.goto(f"http://127.0.0.1:{port}/")
                page.set_input_files("#file-input", str(photo))
                page.wait_for_selector("#results:not([hidden])")
                page.wait_for_function(IMAGES_LOADED)
                page.evaluate("window.scrollTo(0, 0)")
                png = page.screenshot(full_page=True, animations="disabled")
                context.close()
        finally:
            stop_gateway(process)
    data = shrink_png(png)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return len(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "screenshot.png")
    parser.add_argument("--width", type=int, default=1200)
    args = parser.parse_args()
    size = take_screenshot(args.out, args.width)
    print(f"{args.out}: {size} bytes")


if __name__ == "__main__":
    main()
