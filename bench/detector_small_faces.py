"""Small and large faces: recall, false positives and detect() time of the old and the new res10 detection.

Real faces (scikit-image's astronaut, FairFace chips, CMU "faces" straight shots) are pasted, feathered, at
decreasing face widths into real 640x480 background photos (scikit-image's rocket, coffee and motorcycle,
which hold no face), six faces per picture, and at large widths (200-320 px) one face per picture. Each
picture goes through two detectors in the same run:

- **old**: the previous ``detect`` — the whole image squashed to 300x300, confidence 0.5, NMS;
- **new**: ``FaceDetector.detect`` with the settings in force (``EMOTICON_*``; defaults: aspect ratio kept, a
  fine pass scaled for 32 px faces, a coarse pass for large faces when needed, confidence 0.45).

The minimum face width is off for both. A face counts as found when a detection overlaps its expected box with
IoU >= 0.3; every other detection is a false positive (on a pasted face or on the background). Face-free real
photos (scikit-image) are run too: each box there is a false positive.

A face's width is the width of the box the old detector gives it on the full-size source, so "40 px" means that
box would be 40 px wide. Faces it misses even at full size are left out (counted in the output): the table
isolates the effect of size.

Time: ``detect`` on three 640x480 pictures (a bare background, six 40 px faces, one 260 px face), old and new
alternating within each round, so that both see the same machine load; the ratio is of the medians.

    python bench/detector_small_faces.py            # about 4 min on 2 shared cores
    python bench/detector_small_faces.py --widths 40 32 --large-widths --rounds 10
    python bench/detector_small_faces.py --widths --large-widths     # the timing alone (about 1 min)

Needs the detector files (``emoticon setup``) and ../shared/datasets beside the repository.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import statistics
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from services.detector import FaceDetector, ensure_detector_files
from services.detector.res10 import clip_relative_boxes, suppress_overlaps
from services.settings import Settings
from training.data import DATASETS_DIR as DATASETS

WIDTHS = (120, 80, 60, 48, 40, 32, 24, 20, 16)
LARGE_WIDTHS = (200, 260, 320)
OLD_INPUT, OLD_CONFIDENCE = 300, 0.5
# Targets of issue 13 (item 1).
TARGET_RECALL = {40: 0.95, 32: 0.80}
TARGET_FALSE_PER_PICTURE = 0.1
TARGET_TIME_RATIO = 2.0

Box = tuple[float, float, float, float]
Detect = Callable[[np.ndarray], list[Box]]
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


def old_detect(detector: FaceDetector, image: np.ndarray) -> list[tuple[Box, float]]:
    """The previous ``detect``: the image squashed to 300x300, confidence 0.5, NMS; ``((x, y, w, h), conf)``."""
    height, width = image.shape[:2]
    rows = detector.raw_detections(image, (OLD_INPUT, OLD_INPUT))
    boxes = suppress_overlaps(clip_relative_boxes(rows, width, height, OLD_CONFIDENCE), detector.nms_iou)
    boxes.sort(key=lambda b: (b.x0, b.y0))
    return [((b.x0, b.y0, b.width, b.height), b.confidence) for b in boxes]


def new_detect(detector: FaceDetector, image: np.ndarray) -> list[Box]:
    return [(f.x, f.y, f.width, f.height) for f in detector.detect(image)]


def reference_face(
    detector: FaceDetector, image: np.ndarray, source: str, upscale: float
) -> SourceFace | None:
    """The old detector's box on the source when it finds exactly one confident face there; the patch around it.

    The source is framed by a grey border half its size (and upscaled): res10 misses many faces that fill
    the whole frame, as dataset chips do, and a border fixes that.
    """
    pad = max(image.shape[:2]) // 2
    framed = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(128, 128, 128))
    if upscale != 1:
        framed = cv2.resize(framed, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_CUBIC)
    faces = old_detect(detector, framed)
    if len(faces) != 1 or faces[0][1] < 0.9:
        return None
    (fx, fy, fw, fh), _ = faces[0]
    x, y = fx / upscale - pad, fy / upscale - pad
    w, h = fw / upscale, fh / upscale
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


@dataclass
class Picture:
    """A 640x480 picture with pasted faces: their sources, expected face boxes and patch rectangles."""

    image: np.ndarray
    sources: list[str]
    truth: list[Box]
    patches: list[Box]


def grid_pictures(faces: list[SourceFace], width: int, bgs: list[np.ndarray]) -> list[Picture]:
    """All faces pasted at ``width``, six to a picture (one per cell of a 3x2 grid)."""
    rng = random.Random(width)
    cell_w, cell_h = CANVAS_W // GRID_COLS, CANVAS_H // GRID_ROWS
    cells = [(c * cell_w, r * cell_h, cell_w, cell_h) for r in range(GRID_ROWS) for c in range(GRID_COLS)]
    pictures = []
    for index, start in enumerate(range(0, len(faces), len(cells))):
        group = faces[start : start + len(cells)]
        canvas = bgs[index % len(bgs)].copy()
        pasted = [paste(canvas, f, width, cell, rng) for f, cell in zip(group, cells, strict=False)]
        pictures.append(
            Picture(canvas, [f.source for f in group], [b for b, _ in pasted], [p for _, p in pasted])
        )
    return pictures


def single_pictures(faces: list[SourceFace], width: int, bgs: list[np.ndarray]) -> list[Picture]:
    """Every third face alone at ``width`` (a large face) in a picture of its own."""
    rng = random.Random(width)
    pictures = []
    for index, face in enumerate(faces[::3]):
        canvas = bgs[index % len(bgs)].copy()
        box, patch = paste(canvas, face, width, (0, 0, CANVAS_W, CANVAS_H), rng)
        pictures.append(Picture(canvas, [face.source], [box], [patch]))
    return pictures


@dataclass
class Score:
    found: dict[str, list[int]]
    false_on_face: int
    false_on_background: int
    pictures: int

    @property
    def recall(self) -> float:
        every = [v for flags in self.found.values() for v in flags]
        return float(np.mean(every)) if every else float("nan")

    @property
    def faces(self) -> tuple[int, int]:
        every = [v for flags in self.found.values() for v in flags]
        return sum(every), len(every)

    @property
    def false_per_picture(self) -> float:
        return (self.false_on_face + self.false_on_background) / self.pictures


def score(detect: Detect, pictures: list[Picture]) -> Score:
    """Found flags per source and false positives (on a pasted patch, or on the background)."""
    result = Score({}, 0, 0, len(pictures))
    for picture in pictures:
        detections = detect(picture.image)
        used: set[int] = set()
        for source, box in zip(picture.sources, picture.truth, strict=True):
            best = max(range(len(detections)), key=lambda i: iou(box, detections[i]), default=None)
            hit = best is not None and best not in used and iou(box, detections[best]) >= MATCH_IOU
            if hit:
                used.add(best)
            result.found.setdefault(source, []).append(int(hit))
        for i, (x, y, w, h) in enumerate(detections):
            if i in used:
                continue
            cx, cy = x + w / 2, y + h / 2
            if any(px <= cx < px + pw and py <= cy < py + ph for px, py, pw, ph in picture.patches):
                result.false_on_face += 1
            else:
                result.false_on_background += 1
    return result


def face_free_photos() -> dict[str, np.ndarray]:
    """Real photos without a human face (scikit-image; the cat ``chelsea`` is listed apart), HxWx3 BGR."""
    from skimage import data

    def grey8(image: np.ndarray) -> np.ndarray:
        image = image.astype(np.float64)
        return (255 * image / max(image.max(), 1e-9)).astype(np.uint8)

    photos = {
        "rocket": data.rocket(), "coffee": data.coffee(), "motorcycle": data.stereo_motorcycle()[0],
        "hubble": data.hubble_deep_field(), "immunohistochemistry": data.immunohistochemistry(),
        "brick": data.brick(), "grass": data.grass(), "gravel": data.gravel(), "horse": grey8(data.horse()),
        "text": data.text(), "page": data.page(), "coins": data.coins(), "moon": data.moon(), "cell": data.cell(),
        "retina": data.retina(), "clock": data.clock(), "colorwheel": data.colorwheel(),
    }  # fmt: skip
    return {name: to_bgr(image) for name, image in photos.items()}


def time_rounds(detects: dict[str, Detect], images: dict[str, np.ndarray], rounds: int) -> dict:
    """``{image: {detector: [seconds per call]}}``, the detectors alternating within every round."""
    times: dict[str, dict[str, list[float]]] = {name: {d: [] for d in detects} for name in images}
    for name, image in images.items():
        for detect in detects.values():
            detect(image)  # warm-up
    for _ in range(rounds):
        for name, image in images.items():
            for label, detect in detects.items():
                t0 = time.perf_counter()
                detect(image)
                times[name][label].append(time.perf_counter() - t0)
    return times


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="*", default=list(WIDTHS))
    parser.add_argument("--large-widths", type=int, nargs="*", default=list(LARGE_WIDTHS))
    parser.add_argument("--fairface", type=int, default=96, help="FairFace chips to sample")
    parser.add_argument("--cmu", type=int, default=20, help="CMU straight shots to sample")
    parser.add_argument("--rounds", type=int, default=20, help="timing rounds (old and new alternating)")
    args = parser.parse_args()

    base = Settings()
    ensure_detector_files(base)
    new = FaceDetector(base.model_copy(update={"min_face_px": 1}))
    old_detector = FaceDetector(base)  # its own network, always at 300x300 as the old detector's was
    detects: dict[str, Detect] = {
        "old": lambda image: [box for box, _ in old_detect(old_detector, image)],
        "new": lambda image: new_detect(new, image),
    }
    faces, rejected = load_faces(old_detector, args.fairface, args.cmu)
    bgs = backgrounds()
    counts = {s: sum(f.source == s for f in faces) for s in ("astronaut", "fairface", "cmu")}
    print(f"faces used: {counts}; left out (the old detector misses them at full size): {rejected}")
    plan = new.plan(CANVAS_W, CANVAS_H)
    coarse = f"{plan.coarse.width}x{plan.coarse.height}" if plan.coarse else "none"
    print(
        f"new on {CANVAS_W}x{CANVAS_H}: fine pass {plan.fine.width}x{plan.fine.height} (boxes < "
        f"{plan.fine.max_face_px:.0f} px), coarse pass {coarse} when a box >= {plan.coarse_trigger_px:.0f} px "
        f"shows up; confidence {new.confidence}; smallest face planned {plan.smallest_face_px:.0f} px"
    )

    sources = ("fairface", "cmu", "astronaut")
    rows: list[tuple[str, Score, Score]] = []
    for width in args.widths:
        pictures = grid_pictures(faces, width, bgs)
        rows.append((f"{width}", score(detects["old"], pictures), score(detects["new"], pictures)))
    for width in args.large_widths:
        pictures = single_pictures(faces, width, bgs)
        rows.append((f"{width} (alone)", score(detects["old"], pictures), score(detects["new"], pictures)))

    print(f"\n### Recall and false positives, {CANVAS_W}x{CANVAS_H} pictures\n")
    print(
        "| face width px | recall old | recall new | new: FairFace / CMU / astronaut "
        "| false pos./picture old | new (on a face, on background) |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for label, old, fresh in rows:
        per_source = " / ".join(
            f"{np.mean(fresh.found[s]):.2f}" if fresh.found.get(s) else "-" for s in sources
        )
        found_old, total = old.faces
        found_new, _ = fresh.faces
        print(
            f"| {label} | {old.recall:.2f} ({found_old}/{total}) | {fresh.recall:.2f} ({found_new}/{total}) | "
            f"{per_source} | {old.false_per_picture:.2f} | {fresh.false_per_picture:.2f} "
            f"({fresh.false_on_face / fresh.pictures:.2f}, {fresh.false_on_background / fresh.pictures:.2f}) |"
        )

    photos = face_free_photos()
    bare = {
        label: {name: len(detect(image)) for name, image in photos.items()}
        for label, detect in detects.items()
    }
    print(f"\nface-free real photos ({len(photos)}): boxes found")
    for label, found in bare.items():
        listed = ", ".join(f"{name} {n}" for name, n in found.items() if n) or "none"
        print(f"  {label}: {sum(found.values())} in all ({listed})")
    from skimage import data

    cat = to_bgr(data.chelsea())
    print(f"  (the cat chelsea, not counted: old {len(detects['old'](cat))}, new {len(detects['new'](cat))})")

    single = single_pictures(faces, 260, bgs)[0].image
    timing_images = {
        "bare background": bgs[0].copy(),
        "six 40 px faces": grid_pictures(faces, 40, bgs)[0].image,
        "one 260 px face": single,
    }
    times = time_rounds(detects, timing_images, args.rounds)
    load = os.getloadavg()
    print(
        f"\n### detect() time on {CANVAS_W}x{CANVAS_H}, {args.rounds} alternating rounds, {cv2.getNumThreads()} "
        f"cv2 threads, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} CPUs\n"
    )
    print(
        "| picture | old median (fastest) ms | new median (fastest) ms | ratio new/old (medians, fastest) |"
    )
    print("|---|---:|---:|---:|")
    ratios = {}
    for name, by_detector in times.items():
        old_t, new_t = by_detector["old"], by_detector["new"]
        ratio = statistics.median(new_t) / statistics.median(old_t)
        ratios[name] = ratio
        print(
            f"| {name} | {statistics.median(old_t) * 1000:.1f} ({min(old_t) * 1000:.1f}) | "
            f"{statistics.median(new_t) * 1000:.1f} ({min(new_t) * 1000:.1f}) | {ratio:.2f}x, "
            f"{min(new_t) / min(old_t):.2f}x |"
        )

    print("\n### Targets (issue 13, item 1)\n")
    by_width = {label: fresh for label, _, fresh in rows}
    for width, target in TARGET_RECALL.items():
        if str(width) in by_width:
            got = by_width[str(width)].recall
            print(f"- recall at {width} px >= {target}: {got:.2f}, {verdict(got >= target)}")
    if rows:
        worst = max(fresh.false_per_picture for _, _, fresh in rows)
        worse = [label for label, old, fresh in rows if fresh.false_per_picture > old.false_per_picture]
        print(
            f"- false positives <= {TARGET_FALSE_PER_PICTURE} per picture: worst {worst:.2f}, "
            f"{verdict(worst <= TARGET_FALSE_PER_PICTURE)}"
        )
        print(
            f"- no more false positives than old at any width: {verdict(not worse)}"
            + (f" (more at {', '.join(worse)})" if worse else "")
        )
    more_bare = sum(bare["new"].values()) - sum(bare["old"].values())
    print(
        f"- face-free photos: new {sum(bare['new'].values())} boxes, old {sum(bare['old'].values())}, "
        f"{verdict(more_bare <= 0)}"
    )
    for name, ratio in ratios.items():
        print(
            f"- time new/old <= {TARGET_TIME_RATIO} on the {name}: {ratio:.2f}x, "
            f"{verdict(ratio <= TARGET_TIME_RATIO)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
