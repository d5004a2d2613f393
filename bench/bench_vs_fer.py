"""Emoticon in-process against the peer ``fer`` (``FER().detect_emotions``), on the same photos, in one run.

    python bench/bench_vs_fer.py --fer-python ~/.cache/emoticon/fer-venv/bin/python [--rounds 20]

Ours is the in-process call ``bench/bench_service.py`` times (``services.pipeline.analyze`` on the JPEG bytes:
decode, res10, the heads, the renders), once with ``renders=all`` (SVG + PNG per face + the overlay) and once
with ``renders=svg`` (as the page's live mode asks). The peer runs in a worker process under its own Python
(``bench/fer_worker.py``: ``cv2.imdecode`` + ``detect_emotions`` on the same JPEG bytes; Haar cascade + the
quantized TFLite emotion net, fer's defaults). Each round times every photo once on each side, alternating, so
both see the same machine load. Threads: OpenCV ``--threads`` on both sides (res10 / the Haar cascade), our
onnxruntime heads on 1 thread (as served), fer's TFLite interpreter on ``--threads``.

Photos: scikit-image's astronaut (one face), and group photos of real faces: the astronaut with two FairFace
people (the browser tests' group photo, 3 faces) and ten FairFace faces on a grid (``bench_service``'s 10-face
photo), read from ``../shared/datasets/fairface_train.zip`` in place. Prints the medians (wall and this
thread's CPU), the ratios ours / fer, the faces each found, and whether the targets (issue 13) are met: on the
one-face photo, ``renders=all`` <= 0.9x fer and ``renders=svg`` <= 0.7x fer (wall-clock medians).

The peer is not a dependency of this project; install it in a venv of its own (it pulls TensorFlow and
PyTorch, several GB):

    python3 -m venv ~/.cache/emoticon/fer-venv
    ~/.cache/emoticon/fer-venv/bin/pip install fer "setuptools<81"

(``setuptools<81``: fer imports ``pkg_resources``, which setuptools 81 drops. Checked with fer 25.10.3,
TensorFlow 2.21.0, OpenCV 4.x: no other pin was needed; fer's ``from fer import FER`` no longer works in 25.x,
the worker imports ``fer.fer.FER``.) Without it, this script says so and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import cv2

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))
sys.path.insert(0, str(REPO_ROOT / "tests"))  # the shared photo helpers

from bench_service import one_face_photo, ten_face_photo
from photos import group_photo

from services.contracts import RenderOptions
from services.pipeline import Models, analyze
from services.settings import Settings

DEFAULT_FER_PYTHON = Path.home() / ".cache" / "emoticon" / "fer-venv" / "bin" / "python"
WORKER = REPO_ROOT / "bench" / "fer_worker.py"
TARGETS = {"all": 0.9, "svg": 0.7}  # ours / fer on the one-face photo, wall-clock medians
INSTALL = (
    "python3 -m venv ~/.cache/emoticon/fer-venv && "
    '~/.cache/emoticon/fer-venv/bin/pip install fer "setuptools<81"'
)


@dataclass
class Timings:
    wall_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    faces: set[int] = field(default_factory=set)

    @property
    def wall(self) -> float:
        return statistics.median(self.wall_ms)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpu_ms)


def fail(message: str) -> NoReturn:
    """Say why the comparison cannot run, and exit with status 2."""
    print(message, file=sys.stderr)
    raise SystemExit(2)


class FerWorker:
    """``bench/fer_worker.py`` under the peer's Python: one photo path in, one JSON line out."""

    def __init__(self, python: Path, threads: int) -> None:
        self.proc = subprocess.Popen(
            [str(python), str(WORKER), "--threads", str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "OMP_NUM_THREADS": str(threads)},
        )
        self.info = self._read()
        if not self.info.get("ready"):
            self.close()
            fail(
                f"fer cannot be loaded by {python}: {self.info.get('error', 'the worker ended')}.\n"
                f"Install it in a venv of its own: {INSTALL}"
            )

    def _read(self) -> dict:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        return json.loads(line) if line.strip() else {}

    def time(self, path: Path) -> dict:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{path}\n")
        self.proc.stdin.flush()
        answer = self._read()
        if "ms" not in answer:
            raise RuntimeError(f"fer failed on {path.name}: {answer.get('error', 'the worker ended')}")
        return answer

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def photos() -> dict[str, bytes]:
    group = cv2.imencode(".jpg", group_photo(), [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()
    return {"1-face": one_face_photo(), "3-face": group, "10-face": ten_face_photo()}


def time_ours(
    data: bytes, models: Models, settings: Settings, options: RenderOptions
) -> tuple[float, float, int]:
    """Wall ms, this thread's CPU ms (all of it with one OpenCV thread: onnxruntime and cv2.dnn then run in
    the calling thread) and faces found, for one ``analyze`` call."""
    t, c = time.perf_counter(), time.thread_time()
    composed = analyze(data, models, settings, options)
    return (time.perf_counter() - t) * 1000, (time.thread_time() - c) * 1000, len(composed.result.faces)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--fer-python", type=Path, default=DEFAULT_FER_PYTHON, help="the Python fer is installed in"
    )
    parser.add_argument(
        "--rounds", type=int, default=20, help="alternating rounds (each times every photo once)"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="OpenCV threads on both sides, TFLite's for fer"
    )
    args = parser.parse_args()
    if not args.fer_python.exists():
        fail(
            f"no Python at {args.fer_python}: the peer fer is not installed there.\n"
            f"Install it in a venv of its own: {INSTALL}\nthen pass --fer-python PATH/bin/python"
        )

    worker = FerWorker(args.fer_python, args.threads)  # first: without fer, stop before loading anything
    cv2.setNumThreads(args.threads)
    settings = Settings()
    models = Models.load(settings)
    images = photos()
    modes = {"all": RenderOptions(renders="all"), "svg": RenderOptions(renders="svg")}
    ours = {(name, mode): Timings() for name in images for mode in modes}
    peer = {name: Timings() for name in images}
    with tempfile.TemporaryDirectory(prefix="emoticon-vs-fer-") as tmp:
        paths = {name: Path(tmp) / f"{name}.jpg" for name in images}
        for name, data in images.items():
            paths[name].write_bytes(data)
        try:
            for name, data in images.items():  # warm-up, not counted
                worker.time(paths[name])
                for options in modes.values():
                    time_ours(data, models, settings, options)
            for _ in range(args.rounds):
                for name, data in images.items():
                    for mode, options in modes.items():
                        wall, cpu, faces = time_ours(data, models, settings, options)
                        ours[name, mode].wall_ms.append(wall)
                        ours[name, mode].cpu_ms.append(cpu)
                        ours[name, mode].faces.add(faces)
                    answer = worker.time(paths[name])
                    peer[name].wall_ms.append(answer["ms"])
                    peer[name].cpu_ms.append(answer["cpu_ms"])
                    peer[name].faces.add(answer["faces"])
        finally:
            worker.close()

    info = worker.info
    print(
        f"fer {info['fer']} (TensorFlow {info['tensorflow']}, OpenCV {info['opencv']}; "
        f"threads: {info['threads']}) "
        f"vs Emoticon in-process (OpenCV {cv2.getNumThreads()} threads, onnxruntime heads 1 thread); "
        f"{args.rounds} alternating rounds; cpu cores: {os.cpu_count()}; load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'photo':<9}{'renders':<9}{'ours ms':>9}{'fer ms':>8}{'ratio':>7}"
        f"{'ours cpu':>10}{'fer cpu':>9}{'cpu ratio':>10}  faces found (ours / fer)"
    )
    for name in images:
        for mode in modes:
            o, p = ours[name, mode], peer[name]
            print(
                f"{name:<9}{mode:<9}{o.wall:>9.1f}{p.wall:>8.1f}{o.wall / p.wall:>7.2f}"
                f"{o.cpu:>10.1f}{p.cpu:>9.1f}{o.cpu / p.cpu:>10.2f}  "
                f"{'/'.join(map(str, sorted(o.faces)))} / {'/'.join(map(str, sorted(p.faces)))}"
            )
    for mode, target in TARGETS.items():
        ratio = ours["1-face", mode].wall / peer["1-face"].wall
        met = "met" if ratio <= target else "NOT met"
        print(f"target 1-face renders={mode}: ours / fer <= {target}: {ratio:.2f} ({met})")


if __name__ == "__main__":
    main()
