"""What the service layers cost, measured in one run on the same images.

    (a) floor:       detector + heads + render in this process (services.pipeline.analyze), one at a time
    (b) embedded:    the embedded gateway over HTTP (POST /v1/jobs?wait=...), concurrency 1 and 8
    (c) distributed: the distributed gateway + one Celery worker per stage over Redis, concurrency 1 and 8

Each on a 1-face photo (scikit-image's astronaut) and a 10-face photo composed from ten real FairFace faces.
Prints p50/p95 latency and images/s, with ratios to (a), and the 10-face / 1-face ratio of (a) against the
target (<= 2x with renders=all). Face PNGs are drawn on their first GET (services.renders), not by the pipeline,
so (a) is what a client waits for its result; a separate line times drawing every face PNG, which a client that
GETs them all pays on top. Usage:

    python bench/bench_service.py [--requests 16] [--redis redis://127.0.0.1:6379/14] [--floor-only]

Starts its own gateway and worker processes (the CLI's ``serve`` and ``worker`` commands) on free ports and a
unique Redis key prefix, and stops them at the end.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import httpx
import numpy as np
import redis

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from services.contracts import RenderOptions
from services.pipeline import Models, analyze, face_png_files
from services.settings import Settings
from training.data import DATASETS_DIR

FAIRFACE = DATASETS_DIR / "fairface_train.zip"
STAGES = ("detector", "classifier", "composer")
TARGET_FACE_RATIO = 2.0  # a 10-face photo costs at most this times a 1-face one, in-process, renders=all


def one_face_photo() -> bytes:
    from skimage import data

    return cv2.imencode(".jpg", data.astronaut()[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()


def ten_face_photo(cell: int = 240, gap: int = 40) -> bytes:
    """Ten FairFace faces (real photos, 160 px crops, spread over the archive) upscaled to ``cell`` px on a 5x2 grid."""
    with zipfile.ZipFile(FAIRFACE) as archive:
        names = sorted(n for n in archive.namelist() if n.endswith(".jpg"))[::97][:10]
        faces = [cv2.imdecode(np.frombuffer(archive.read(n), np.uint8), cv2.IMREAD_COLOR) for n in names]
    canvas = np.full((2 * cell + 3 * gap, 5 * cell + 6 * gap, 3), 235, np.uint8)
    for i, face in enumerate(faces):
        row, col = divmod(i, 5)
        y, x = gap + row * (cell + gap), gap + col * (cell + gap)
        canvas[y : y + cell, x : x + cell] = cv2.resize(face, (cell, cell), interpolation=cv2.INTER_CUBIC)
    return cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()


@dataclass
class Run:
    mode: str
    image: str
    concurrency: int
    latencies_s: list[float]
    wall_s: float

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_s)

    @property
    def p95(self) -> float:
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]

    @property
    def images_per_s(self) -> float:
        return len(self.latencies_s) / self.wall_s


def bench_floor(
    images: dict[str, bytes], requests: int, settings: Settings, renders: str = "all"
) -> list[Run]:
    models = Models.load(settings)
    options = RenderOptions(renders=renders)
    runs = []
    for name, data in images.items():
        analyze(data, models, settings, options)  # warm-up
        latencies = []
        t0 = time.perf_counter()
        for _ in range(requests):
            t = time.perf_counter()
            analyze(data, models, settings, options)
            latencies.append(time.perf_counter() - t)
        runs.append(Run("floor", name, 1, latencies, time.perf_counter() - t0))
    return runs


def bench_face_pngs(images: dict[str, bytes], requests: int, settings: Settings) -> list[Run]:
    """The first GET of every face PNG of a job: ``face_png_files`` (what ``services.renders`` draws), per image."""
    models = Models.load(settings)
    options = RenderOptions(renders="all")
    runs = []
    for name, data in images.items():
        result = analyze(data, models, settings, options).result
        face_png_files(result, options)  # warm-up
        latencies = []
        t0 = time.perf_counter()
        for _ in range(requests):
            t = time.perf_counter()
            face_png_files(result, options)
            latencies.append(time.perf_counter() - t)
        runs.append(Run("face PNGs", name, 1, latencies, time.perf_counter() - t0))
    return runs


def print_face_ratio(floor: list[Run], face_pngs: list[Run], renders: str) -> None:
    """The 10-face / 1-face p50 of the in-process pipeline against TARGET_FACE_RATIO, and with every face PNG."""
    by_image = {r.image: r for r in floor}
    ratio = by_image["10-face"].p50 / by_image["1-face"].p50
    verdict = ("met" if ratio <= TARGET_FACE_RATIO else "NOT met") if renders == "all" else "(target is for all)"
    print(
        f"10-face / 1-face p50, in-process pipeline, renders={renders}: {ratio:.2f}x "
        f"(target <= {TARGET_FACE_RATIO:.0f}x with renders=all: {verdict})"
    )
    if renders == "all" and face_pngs:
        pngs = {r.image: r for r in face_pngs}
        print(
            "first GET of every face PNG (p50 ms): "
            + ", ".join(f"{name} {pngs[name].p50 * 1000:.1f}" for name in ("1-face", "10-face"))
        )
        with_pngs = (by_image["10-face"].p50 + pngs["10-face"].p50) / (by_image["1-face"].p50 + pngs["1-face"].p50)
        print(f"10-face / 1-face p50, pipeline + every face PNG: {with_pngs:.2f}x")


def bench_http(
    url: str, mode: str, images: dict[str, bytes], requests: int, concurrency: int, renders: str = "all"
) -> list[Run]:
    runs = []
    with httpx.Client(base_url=url, timeout=120) as client:

        def one(data: bytes) -> float:
            t = time.perf_counter()
            response = client.post(f"/v1/jobs?wait=30&renders={renders}", content=data)
            assert response.status_code == 200 and response.json()["status"] == "done", response.text[:200]
            return time.perf_counter() - t

        for name, data in images.items():
            one(data)  # warm-up
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                t0 = time.perf_counter()
                latencies = list(pool.map(one, [data] * requests))
                wall = time.perf_counter() - t0
            runs.append(Run(mode, name, concurrency, latencies, wall))
    return runs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = (self.log_dir / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", *args],
            cwd=REPO_ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()  # the main process only: Celery and uvicorn shut down warm
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        self.procs.clear()


def wait_ready(url: str, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} not ready after {timeout_s}s")


def print_table(runs: list[Run]) -> None:
    floor = {r.image: r for r in runs if r.mode == "floor"}
    print(
        f"{'mode':<12}{'image':<8}{'conc':>5}{'p50 ms':>9}{'p95 ms':>9}{'img/s':>8}{'p50/a':>8}{'img/s / a':>11}"
    )
    for r in runs:
        base = floor[r.image]
        print(
            f"{r.mode:<12}{r.image:<8}{r.concurrency:>5}{r.p50 * 1000:>9.0f}{r.p95 * 1000:>9.0f}"
            f"{r.images_per_s:>8.2f}{r.p50 / base.p50:>8.2f}{r.images_per_s / base.images_per_s:>11.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=16, help="requests per (mode, image, concurrency)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14", help="Redis for the distributed mode")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--floor-only", action="store_true", help="only (a): the in-process pipeline")
    parser.add_argument(
        "--renders", choices=["all", "svg"], default="all",
        help="all: SVG + PNG per face + overlay (default); svg: SVG only, as the page's live mode asks",
    )
    args = parser.parse_args()

    settings = Settings()
    images = {"1-face": one_face_photo(), "10-face": ten_face_photo()}
    models = Models.load(settings)
    faces = {name: len(analyze(data, models, settings).result.faces) for name, data in images.items()}
    del models
    print(f"faces found: {faces}; {args.requests} requests per row; cpu cores: {os.cpu_count()}")

    print(f"renders: {args.renders}")
    runs = bench_floor(images, args.requests, settings, args.renders)
    face_pngs = bench_face_pngs(images, args.requests, settings) if args.renders == "all" else []
    if args.floor_only:
        print_table(runs)
        print_face_ratio(runs, face_pngs, args.renders)
        return
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    env = {
        "EMOTICON_REDIS_URL": args.redis,
        "EMOTICON_KEY_PREFIX": prefix,
        "EMOTICON_MAX_QUEUE_DEPTH": "1000",
    }
    processes = Processes(Path(tempfile.mkdtemp(prefix="emoticon-bench-")))
    try:
        port = free_port()
        processes.start("embedded", ["serve", "--port", str(port)], env)
        url = f"http://127.0.0.1:{port}"
        wait_ready(url)
        for concurrency in args.concurrency:
            runs += bench_http(url, "embedded", images, args.requests, concurrency, args.renders)
        processes.stop_all()

        for stage in STAGES:
            processes.start(stage, ["worker", stage], env)
        port = free_port()
        processes.start("distributed", ["serve", "--distributed", "--port", str(port)], env)
        url = f"http://127.0.0.1:{port}"
        wait_ready(url)
        for concurrency in args.concurrency:
            runs += bench_http(url, "distributed", images, args.requests, concurrency, args.renders)
    finally:
        processes.stop_all()
        client = redis.Redis.from_url(args.redis)
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    print(f"logs: {processes.log_dir}")
    print_table(
        sorted(
            runs, key=lambda r: (r.image, ["floor", "embedded", "distributed"].index(r.mode), r.concurrency)
        )
    )
    print_face_ratio([r for r in runs if r.mode == "floor"], face_pngs, args.renders)


if __name__ == "__main__":
    main()
