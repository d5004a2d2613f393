"""Live webcam round trips per second, measured from the page in headless Chromium, embedded mode, one face.

    python bench/bench_webcam.py [--seconds 10] [--warmup 3]

Starts the embedded gateway (``python -m services.cli serve`` on a free port, as the browser tests do), opens
the page in Debian's Chromium with a fake camera playing a video made from a real photo (scikit-image's
astronaut sliding left and right, 640x480), starts the camera and live mode, lets ``--warmup`` round trips
pass, then counts the round trips the page itself reports (``#live-count``: a frame grabbed, sent, answered
and its emoticon drawn) over ``--seconds``. Prints round trips per second against the target (issue 13: >=
10), and where a round trip's time goes: the POST as the browser's resource timing sees it (with two frames in
flight it includes waiting behind the other one), the server's own stage timings (``timings_ms``), and the
rest (frame grab + JPEG encode + drawing, in the page); and the CPU each side spent per round trip (the
gateway process, every Chromium process; read from /proc), with what the camera alone costs Chromium before
live mode starts. Both share this machine's cores, so CPU per round trip is the figure to compare on a loaded
machine.

Needs Chromium and Playwright (``scripts/install_browser.sh``); without them it says so and exits 2.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "tests"))  # the shared photo helpers
sys.path.insert(0, str(REPO_ROOT / "tests" / "browser"))  # the gateway, Chromium and fake-camera helpers

from browser_support import (
    CHROMIUM_ARGS,
    astronaut_bgr,
    fake_camera_args,
    find_chromium,
    free_port,
    sliding_face_frames,
    start_gateway,
    stop_gateway,
    wait_ready,
    write_y4m,
)

TARGET_ROUND_TRIPS_PER_S = 10.0
CAMERA_ONLY_S = 3.0  # Chromium's CPU with the camera on and live mode off is measured over this long
CAMERA_FPS = 30  # the fake camera's frame rate, a webcam's: above the target, so the camera never limits

# Per round trip, from the page: the POST's resource timing entries (request sent -> last byte) and the
# server's stage timings of the answer shown by the page.
COLLECT_ENTRIES = """() => performance.getEntriesByType('resource')
  .filter(e => e.name.includes('/v1/jobs') && e.initiatorType === 'fetch' && !e.name.includes('/faces/'))
  .map(e => ({start: e.startTime, duration: e.duration, wait: e.responseStart - e.requestStart}))"""


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # after "pid (comm) ": state, ppid, ...


def process_tree(root: int) -> set[int]:
    """``root`` and all its descendants (from /proc's parent ids)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        tree.add(pid)
        todo.extend(children.get(pid, []))
    return tree


def cpu_seconds(pids: set[int]) -> float:
    """User + system CPU seconds the processes (all their threads) used so far."""
    ticks = 0
    for pid in pids:
        if (fields := _stat_fields(pid)) is not None:
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def browser_pid(profile: Path) -> int | None:
    """The Chromium browser process started with ``profile`` as its user-data dir."""
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and str(profile).encode() in (entry / "cmdline").read_bytes():
                fields = _stat_fields(int(entry.name))
                if fields is not None and str(profile).encode() not in _cmdline(int(fields[1])):
                    return int(entry.name)
        except OSError:
            continue
    return None


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def median_ms(values: list[float]) -> str:
    return f"{statistics.median(values):.0f}" if values else "-"


def measure(
    chromium: str, url: str, video: Path, profile: Path, seconds: float, warmup: int, gateway_pid: int
) -> dict:
    """Open the page, start live mode, count round trips over ``seconds`` after ``warmup`` of them; also the
    CPU seconds the gateway and Chromium (every process of it) used meanwhile."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium,
            headless=True,
            args=[*CHROMIUM_ARGS, *fake_camera_args(video)],
            permissions=["camera"],
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(60_000)
        page = context.pages[0] if context.pages else context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{url}/")
        page.wait_for_selector("html[data-ready='true']")
        page.evaluate("performance.setResourceTimingBufferSize(100000)")
        page.click("#camera-toggle")
        page.wait_for_function("document.querySelector('#video').videoWidth > 0")
        root = browser_pid(profile)
        browser = process_tree(root) if root is not None else set()
        # What the camera alone costs Chromium (playing the video on the page), before live mode starts.
        idle0, t_idle = cpu_seconds(browser), time.monotonic()
        time.sleep(CAMERA_ONLY_S)
        camera_only = (cpu_seconds(browser) - idle0) / (time.monotonic() - t_idle)

        page.check("#live-toggle")
        page.wait_for_function(f"Number(document.querySelector('#live-count').textContent) >= {warmup}")
        browser = process_tree(root) if root is not None else set()
        cpu0 = (cpu_seconds({gateway_pid}), cpu_seconds(browser))
        count0 = int(page.inner_text("#live-count"))
        t0_page = page.evaluate("performance.now()")
        t0 = time.monotonic()
        latencies, server, faces = [], [], []
        while time.monotonic() - t0 < seconds:
            latencies.append(float(page.inner_text("#live-latency")))
            server.append(float(page.inner_text("#live-server")))
            faces.append(page.get_attribute("#live-layer", "data-face-count"))
            time.sleep(0.2)
        count1 = int(page.inner_text("#live-count"))
        elapsed = time.monotonic() - t0
        cpu = (cpu_seconds({gateway_pid}) - cpu0[0], cpu_seconds(browser) - cpu0[1])
        entries = [e for e in page.evaluate(COLLECT_ENTRIES) if e["start"] >= t0_page]
        video = page.evaluate(
            "[document.querySelector('#video').videoWidth, document.querySelector('#video').videoHeight]"
        )
        page.uncheck("#live-toggle")
        context.close()
    return {
        "round_trips": count1 - count0,
        "seconds": elapsed,
        "latency_ms": latencies,
        "server_ms": server,
        "post_ms": [e["duration"] for e in entries],
        "faces": dict(sorted(Counter(faces).items())),
        "gateway_cpu_s": cpu[0],
        "browser_cpu_s": cpu[1],
        "camera_only_cores": camera_only,
        "video": video,
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="how long round trips are counted")
    parser.add_argument("--warmup", type=int, default=3, help="round trips before counting starts")
    parser.add_argument("--camera-fps", type=int, default=CAMERA_FPS, help="the fake camera's frame rate")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args()

    chromium = find_chromium()
    missing = None
    if chromium is None:
        missing = "Chromium is not installed (looked for /usr/bin/chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "the playwright package is missing"
    if missing:
        print(f"{missing}: run scripts/install_browser.sh", file=sys.stderr)
        raise SystemExit(2)

    with tempfile.TemporaryDirectory(prefix="emoticon-webcam-") as tmp:
        video = Path(tmp) / "astronaut.y4m"
        write_y4m(video, sliding_face_frames(astronaut_bgr(), count=60), fps=args.camera_fps)
        port, log_path = free_port(), Path(tmp) / "gateway.log"
        process = start_gateway(port, log_path)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(url, process, log_path)
            run = measure(chromium, url, video, Path(tmp) / "profile", args.seconds, args.warmup, process.pid)
        finally:
            stop_gateway(process)

    rate = run["round_trips"] / run["seconds"]
    latency, server, post = run["latency_ms"], run["server_ms"], run["post_ms"]
    print(
        f"embedded gateway, headless Chromium, fake camera {run['video'][0]}x{run['video'][1]} at "
        f"{args.camera_fps} fps (astronaut), cpu cores: {os.cpu_count()}"
    )
    print(f"faces in view (samples every 0.2 s): {run['faces']}")
    print(
        f"round trips: {run['round_trips']} in {run['seconds']:.1f} s = {rate:.1f}/s "
        f"(target >= {TARGET_ROUND_TRIPS_PER_S:.0f})"
    )
    print(
        f"per round trip (median ms): page total {median_ms(latency)}, POST {median_ms(post)} "
        f"(server stages {median_ms(server)}), page-side rest "
        f"{statistics.median(latency) - statistics.median(post):.0f}"
        if latency and post
        else "per round trip: no samples"
    )
    trips = max(1, run["round_trips"])
    print(
        f"CPU per round trip: gateway {run['gateway_cpu_s'] / trips * 1000:.0f} ms, Chromium "
        f"{run['browser_cpu_s'] / trips * 1000:.0f} ms (CPU busy over the window: gateway "
        f"{run['gateway_cpu_s'] / run['seconds']:.2f} cores, Chromium "
        f"{run['browser_cpu_s'] / run['seconds']:.2f}; "
        f"Chromium with the camera on, live mode off: {run['camera_only_cores']:.2f})"
    )
    print(f"target met: {'yes' if rate >= TARGET_ROUND_TRIPS_PER_S else 'no'}")
    if run["errors"]:
        print(f"page errors: {run['errors']}")
    if args.json:
        print(
            json.dumps(
                {
                    "round_trips_per_s": round(rate, 2),
                    "post_ms": median_ms(post),
                    "latency_ms": median_ms(latency),
                }
            )
        )


if __name__ == "__main__":
    main()
