"""Time the four heads on one thread: a batch of 8 real faces, per head and together, per face.

    python bench/bench_heads.py [--repeats 50]

Target (issue 13): the four heads together ≤ 4 ms per face on one thread in a batch of 8, counted as
``FaceClassifier.classify`` does the work: crops and decisions included (issue 4's was 5 ms). Prints the median
and p95 over the repeats, per head (network only) and for ``classify`` (crops included), and whether the
target is met.
"""

from __future__ import annotations

import argparse
import statistics
import time
import zipfile

import cv2
import numpy as np

from services.classifier import FaceClassifier
from services.contracts import FaceBox
from services.settings import Settings
from training.data import DATASETS_DIR

BATCH = 8
TARGET_MS_PER_FACE = 4.0


def eight_faces() -> tuple[np.ndarray, list[FaceBox]]:
    """Eight real FairFace faces side by side (160 px each) and their boxes: HxWx3 uint8 BGR."""
    path = DATASETS_DIR / "fairface_train.zip"
    with zipfile.ZipFile(path) as archive:
        names = sorted(n for n in archive.namelist() if n.endswith(".jpg"))[::211][:BATCH]
        faces = [cv2.imdecode(np.frombuffer(archive.read(n), np.uint8), cv2.IMREAD_COLOR) for n in names]
    faces = [cv2.resize(f, (160, 160)) for f in faces]
    strip = np.concatenate(faces, axis=1)
    boxes = [FaceBox.from_pixels(i * 160 + 30, 30, 100, 110, strip.shape[1], 160, 1.0) for i in range(BATCH)]
    return strip, boxes


def timed(fn, repeats: int) -> tuple[float, float, float]:
    """Median and p95 wall ms, and median CPU ms of this thread (onnxruntime with one intra-op thread runs
    in the calling thread, so CPU time is the work itself even on a busy machine)."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.thread_time()
        fn()
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.thread_time() - c) * 1000)
    wall.sort()
    return statistics.median(wall), wall[int(0.95 * (len(wall) - 1))], statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    classifier = FaceClassifier(Settings(), threads=1)
    image, boxes = eight_faces()
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    print(f"batch of {BATCH} real faces, onnxruntime on 1 thread, {args.repeats} repeats")
    print(f"{'what':<28}{'wall p50':>10}{'wall p95':>10}{'cpu p50':>9}{'cpu ms/face':>13}")
    total = 0.0
    for name, head in classifier.heads.items():
        batch = head.batch(image, gray, boxes)
        median, p95, cpu = timed(lambda h=head, b=batch: h.predict(b), args.repeats)
        total += cpu
        print(f"{name + ' (network)':<28}{median:>10.2f}{p95:>10.2f}{cpu:>9.2f}{cpu / BATCH:>13.2f}")
    print(f"{'four networks':<28}{'':>10}{'':>10}{total:>9.2f}{total / BATCH:>13.2f}")
    median, p95, cpu = timed(lambda: classifier.classify(image, boxes), args.repeats)
    print(f"{'classify() incl. crops':<28}{median:>10.2f}{p95:>10.2f}{cpu:>9.2f}{cpu / BATCH:>13.2f}")
    verdict = "met" if cpu / BATCH <= TARGET_MS_PER_FACE else "NOT met"
    print(f"target: four heads with crops ≤ {TARGET_MS_PER_FACE} ms per face on one thread: {verdict}")


if __name__ == "__main__":
    main()
