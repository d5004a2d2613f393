"""Where does res10 stop finding small faces? Detection rate per face width, and detect() time at 640x480.

Real faces (scikit-image's astronaut, FairFace chips, CMU "faces" straight shots) are pasted, feathered, at
decreasing face widths into real 640x480 background photos (scikit-image's rocket, coffee and motorcycle,
which hold no face), six faces per picture, and the detector runs on each picture at confidence 0.5
(``--confidence``) with the minimum face width off. A face counts as found when a detection overlaps its
expected box with IoU >= 0.3.

A face's width is the width of the box res10 itself gives it on the full-size source, so "40 px" means
res10's own box would be 40 px wide. Faces res10 misses even at full size are left out (counted in the output):
the table isolates the effect of size.

    python bench/detector_small_faces.py            # both inputs, default widths (about 2 min on 2 cores)
    python bench/detector_small_faces.py --inputs 600 --confidence 0.8 --widths 48 32 24 20

Needs the detector files (``emoticon setup``) and ../shared/datasets beside the repository.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import statistics
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from services.detector import FaceDetector, ensure_detector_files
from services.settings import Settings

DATASETS = REPO.parent / "shared" / "datasets"
WIDTHS = (120, 80, 60, 48, 40, 32, 24, 20, 16)
CANVAS_W, CANVAS_H = 640, 480
GRID_COLS, GRID_ROWS = 3, 2
CONTEXT = 1.5  # patch side = face box side x this (some hair, neck and background come along)
MATCH_IOU = 0.3


@dataclass
class SourceFace:
    """A face on its source photo: the patch to paste (BGR) and the face box inside the patch (x, y, w, h)."""

    source: str
    patch: np.ndarray
    box: tuple[float, float, float, float]


def to_bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3][:, :, ::-1])


def backgrounds() -> list[np.ndarray]:
    from skimage import data

    photos = [data.rocket(), data.coffee(), data.stereo_motorcycle()[0]]
    out = []
    for rgb in photos:
        bgr = to_bgr(rgb)
        h, w = bgr.shape[:2]
        scale = max(CANVAS_W / w, CANVAS_H / h)
        resized = cv2.resize(bgr, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        y0 = (resized.shape[0] - CANVAS_H) // 2
        x0 = (resized.shape[1] - CANVAS_W) // 2
        out.append(np.ascontiguousarray(resized[y0 : y0 + CANVAS_H, x0 : x0 + CANVAS_W]))
    return out


def reference_face(
    detector: FaceDetector, image: np.ndarray, source: str, upscale: float
) -> SourceFace | None:
    """res10's box on the source when it finds exactly one confident face there; the patch around it.

    The source is framed by a grey border half its size (and upscaled): res10 misses many faces that fill
    the whole frame, as dataset chips do, and a border fixes that.
    """
    pad = max(image.shape[:2]) // 2
    framed = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(128, 128, 128))
    if upscale != 1:
        framed = cv2.resize(framed, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_CUBIC)
    faces = detector.detect(framed)
    if len(faces) != 1 or faces[0].confidence < 0.9:
        return None
    f = faces[0]
    x, y = f.x / upscale - pad, f.y / upscale - pad
    w, h = f.width / upscale, f.height / upscale
    side = max(w, h) * CONTEXT
    cx, cy = x + w / 2, y + h / 2
    H, W = image.shape[:2]
    px0, py0 = max(0, round(cx - side / 2)), max(0, round(cy - side / 2))
    px1, py1 = min(W, round(cx + side / 2)), min(H, round(cy + side / 2))
    if px1 - px0 < 8 or py1 - py0 < 8:
        return None
    patch = np.ascontiguousarray(image[py0:py1, px0:px1])
    return SourceFace(source, patch, (x - px0, y - py0, w, h))


def load_faces(
    detector: FaceDetector, n_fairface: int, n_cmu: int
) -> tuple[list[SourceFace], dict[str, int]]:
    from skimage import data

    faces: list[SourceFace] = []
    rejected: dict[str, int] = {"astronaut": 0, "fairface": 0, "cmu": 0}
    astronaut = reference_face(detector, to_bgr(data.astronaut()), "astronaut", 1.0)
    if astronaut is None:
        rejected["astronaut"] += 1
    else:
        faces.append(astronaut)

    rng = random.Random(0)
    with zipfile.ZipFile(DATASETS / "fairface_train.zip") as zf:
        rows = list(csv.DictReader(io.TextIOWrapper(zf.open("manifest.csv"), "utf-8")))
        for row in rng.sample(rows, n_fairface):
            chip = cv2.imdecode(np.frombuffer(zf.read(row["path"]), np.uint8), cv2.IMREAD_COLOR)
            face = reference_face(detector, chip, "fairface", 1.0)
            if face is None:
                rejected["fairface"] += 1
            else:
                faces.append(face)

    with zipfile.ZipFile(DATASETS / "cmu_faces.zip") as zf:
        rows = list(csv.DictReader(io.TextIOWrapper(zf.open("manifest.csv"), "utf-8")))
        straight = [r for r in rows if r["pose"] == "straight"]
        for row in rng.sample(straight, min(n_cmu, len(straight))):
            grey = cv2.imdecode(np.frombuffer(zf.read(row["path"]), np.uint8), cv2.IMREAD_GRAYSCALE)
            face = reference_face(detector, to_bgr(grey), "cmu", 2.0)
            if face is None:
                rejected["cmu"] += 1
            else:
                faces.append(face)
    return faces, rejected


def feathered_alpha(h: int, w: int) -> np.ndarray:
    """An ellipse filling the patch with a soft edge, ``HxWx1 float32`` in [0, 1]."""
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(mask, (w // 2, h // 2), (max(1, int(w * 0.46)), max(1, int(h * 0.48))), 0, 0, 360, 1.0, -1)
    k = max(3, (min(h, w) // 6) | 1)
    return cv2.GaussianBlur(mask, (k, k), 0)[:, :, None]


def paste(
    canvas: np.ndarray, face: SourceFace, width: int, cell: tuple[int, int, int, int], rng: random.Random
):
    """Paste ``face`` so that its face box is ``width`` px wide, somewhere inside ``cell``.

    Returns the expected face box and the pasted patch's rectangle, both ``(x, y, w, h)``."""
    scale = width / face.box[2]
    ph, pw = face.patch.shape[:2]
    nw, nh = max(1, round(pw * scale)), max(1, round(ph * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    patch = cv2.resize(face.patch, (nw, nh), interpolation=interp).astype(np.float32)
    cx0, cy0, cw, ch = cell
    x0 = cx0 + rng.randint(0, max(0, cw - nw))
    y0 = cy0 + rng.randint(0, max(0, ch - nh))
    nw, nh = min(nw, CANVAS_W - x0), min(nh, CANVAS_H - y0)
    patch = patch[:nh, :nw]
    alpha = feathered_alpha(nh, nw)
    region = canvas[y0 : y0 + nh, x0 : x0 + nw].astype(np.float32)
    canvas[y0 : y0 + nh, x0 : x0 + nw] = np.clip(patch * alpha + region * (1 - alpha), 0, 255).astype(
        np.uint8
    )
    bx, by, bw, bh = face.box
    return (x0 + bx * scale, y0 + by * scale, bw * scale, bh * scale), (x0, y0, nw, nh)


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0.0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def run_width(detector, faces, width, bgs, rng) -> tuple[dict[str, list[int]], int, int, int]:
    """Paste all faces at ``width``; returns found flags per source, false positives on a pasted patch (a
    second or misplaced box), false positives on the background, and the number of pictures."""
    found: dict[str, list[int]] = {}
    false_on_patch = false_on_background = 0
    cell_w, cell_h = CANVAS_W // GRID_COLS, CANVAS_H // GRID_ROWS
    cells = [(c * cell_w, r * cell_h, cell_w, cell_h) for r in range(GRID_ROWS) for c in range(GRID_COLS)]
    per_picture = len(cells)
    pictures = 0
    for start in range(0, len(faces), per_picture):
        group = faces[start : start + per_picture]
        canvas = bgs[pictures % len(bgs)].copy()
        pasted = [paste(canvas, f, width, cell, rng) for f, cell in zip(group, cells, strict=False)]
        truth = [box for box, _ in pasted]
        detections = [(d.x, d.y, d.width, d.height) for d in detector.detect(canvas)]
        used: set[int] = set()
        for face, box in zip(group, truth, strict=True):
            best = max(range(len(detections)), key=lambda i: iou(box, detections[i]), default=None)
            hit = best is not None and best not in used and iou(box, detections[best]) >= MATCH_IOU
            if hit:
                used.add(best)
            found.setdefault(face.source, []).append(int(hit))
        for i, (x, y, w, h) in enumerate(detections):
            if i in used:
                continue
            cx, cy = x + w / 2, y + h / 2
            if any(px <= cx < px + pw and py <= cy < py + ph for _, (px, py, pw, ph) in pasted):
                false_on_patch += 1
            else:
                false_on_background += 1
        pictures += 1
    return found, false_on_patch, false_on_background, pictures


def time_detect(detector: FaceDetector, image: np.ndarray, repeats: int) -> tuple[float, float]:
    """Median and fastest ``detect`` wall time in ms (the fastest is the least disturbed by other load)."""
    detector.detect(image)  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        detector.detect(image)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, min(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, nargs="+", default=[300, 600], help="detector_input values")
    parser.add_argument("--widths", type=int, nargs="+", default=list(WIDTHS))
    parser.add_argument("--fairface", type=int, default=96, help="FairFace chips to sample")
    parser.add_argument("--cmu", type=int, default=20, help="CMU straight shots to sample")
    parser.add_argument("--repeats", type=int, default=20, help="timing repeats")
    parser.add_argument("--confidence", type=float, default=0.5, help="detector_confidence")
    args = parser.parse_args()

    base = Settings()
    ensure_detector_files(base)
    reference = FaceDetector(base.model_copy(update={"detector_input": 300, "detector_confidence": 0.5}))
    faces, rejected = load_faces(reference, args.fairface, args.cmu)
    bgs = backgrounds()
    counts = {s: sum(f.source == s for f in faces) for s in ("astronaut", "fairface", "cmu")}
    print(f"faces used: {counts}; left out (res10 misses them at full size): {rejected}")

    sources = ("fairface", "cmu", "astronaut")
    timings: dict[int, tuple[float, float]] = {}
    for side in args.inputs:
        settings = base.model_copy(
            update={"detector_input": side, "detector_confidence": args.confidence, "min_face_px": 1}
        )
        detector = FaceDetector(settings)
        bare = [len(detector.detect(b)) for b in bgs]
        print(
            f"\n### detector_input = {side}, confidence {args.confidence}, {CANVAS_W}x{CANVAS_H} pictures\n"
        )
        print(f"detections on the bare backgrounds (rocket, coffee, motorcycle): {bare}\n")
        print(
            "| face width px | all | FairFace | CMU (grey) | astronaut | false pos./picture on a face, on background |"
        )
        print("|---:|---:|---:|---:|---:|---:|")
        for width in args.widths:
            rng = random.Random(width)
            found, on_patch, on_background, pictures = run_width(detector, faces, width, bgs, rng)
            every = [v for s in sources for v in found.get(s, [])]
            cols = [f"{np.mean(every):.2f} ({sum(every)}/{len(every)})"]
            for s in sources:
                flags = found.get(s, [])
                cols.append(f"{np.mean(flags):.2f}" if flags else "-")
            cols.append(f"{on_patch / pictures:.2f}, {on_background / pictures:.2f}")
            print(f"| {width} | " + " | ".join(cols) + " |")
        timings[side] = time_detect(detector, bgs[0].copy(), args.repeats)

    print(
        f"\ndetect() on one {CANVAS_W}x{CANVAS_H} picture, median of {args.repeats} runs, {cv2.getNumThreads()} cv2 threads:"
    )
    first = args.inputs[0]
    for side, (median, fastest) in timings.items():
        ratio = f" ({median / timings[first][0]:.1f}x input {first})" if side != first else ""
        print(f"  input {side}: median {median:.1f} ms, fastest {fastest:.1f} ms{ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
