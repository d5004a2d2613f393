"""Small faces, large faces, the aspect ratio and face-free photos, on real photos, against the old detection.

"Old" is the previous ``detect``: the whole image squashed to 300x300, confidence 0.5, NMS (the same network,
run through ``raw_detections`` at that size). Faces are real: scikit-image's astronaut and FairFace val chips,
pasted into scikit-image's coffee and rocket photos.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from services.detector import FaceDetector
from services.detector.res10 import clip_relative_boxes, suppress_overlaps

Box = tuple[float, float, float, float]
# The astronaut's face box on her own 512x512 photo (x, y, w, h), as the detector gives it (checked below).
ASTRONAUT_FACE = (179, 57, 92, 120)
FAIRFACE_VAL_CHIPS = 16  # the first val rows of the manifest


def iou(a: Box, b: Box) -> float:
    iw = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def old_boxes(detector: FaceDetector, image: np.ndarray) -> list[Box]:
    height, width = image.shape[:2]
    rows = detector.raw_detections(image, (300, 300))
    return [
        (b.x0, b.y0, b.width, b.height)
        for b in suppress_overlaps(clip_relative_boxes(rows, width, height, 0.5), 0.3)
    ]


def new_boxes(detector: FaceDetector, image: np.ndarray) -> list[Box]:
    return [(f.x, f.y, f.width, f.height) for f in detector.detect(image)]


def found(truth: Box, boxes: list[Box]) -> bool:
    return any(iou(truth, b) >= 0.3 for b in boxes)


def scene(name: str, width: int = 640, height: int = 480) -> np.ndarray:
    from skimage import data

    rgb = {"coffee": data.coffee, "rocket": data.rocket}[name]()
    return np.ascontiguousarray(cv2.resize(rgb[:, :, ::-1], (width, height), interpolation=cv2.INTER_AREA))


def paste_photo(canvas: np.ndarray, photo: np.ndarray, face: Box, face_width: float, x: int, y: int) -> Box:
    """Paste ``photo`` scaled so that its ``face`` box is ``face_width`` wide, its top left at (x, y), with a
    feathered edge; returns the face's box in ``canvas``."""
    s = face_width / face[2]
    patch = cv2.resize(photo, None, fx=s, fy=s, interpolation=cv2.INTER_AREA).astype(np.float32)
    h, w = patch.shape[:2]
    edge = max(1, round(0.08 * w))
    alpha = np.zeros((h, w), np.float32)
    alpha[edge : h - edge, edge : w - edge] = 1.0
    alpha = cv2.GaussianBlur(alpha, (2 * edge + 1, 2 * edge + 1), 0)[:, :, None]
    region = canvas[y : y + h, x : x + w].astype(np.float32)
    canvas[y : y + h, x : x + w] = np.clip(patch * alpha + region * (1 - alpha), 0, 255).astype(np.uint8)
    return (x + face[0] * s, y + face[1] * s, face[2] * s, face[3] * s)


def canvas_with_astronaut(astronaut_bgr: np.ndarray, width: int, height: int) -> np.ndarray:
    """Her 512x512 photo in the top left corner of the rocket photo resized to ``width x height``."""
    canvas = scene("rocket", width, height)
    canvas[:512, :512] = astronaut_bgr
    return canvas


@pytest.fixture(scope="module")
def fairface_faces(detector: FaceDetector, datasets_dir: Path) -> list[tuple[np.ndarray, Box]]:
    """The first FairFace val chips with the face box the detector gives each on the chip framed by a grey
    border (a chip is almost all face, and res10 needs some context); chips without exactly one face are left
    out."""
    out = []
    with zipfile.ZipFile(datasets_dir / "fairface_train.zip") as zf:
        rows = [r for r in csv.DictReader(io.TextIOWrapper(zf.open("manifest.csv"), "utf-8"))]
        for row in [r for r in rows if r["split"] == "val"][:FAIRFACE_VAL_CHIPS]:
            chip = cv2.imdecode(np.frombuffer(zf.read(row["path"]), np.uint8), cv2.IMREAD_COLOR)
            pad = chip.shape[0] // 2
            framed = cv2.copyMakeBorder(chip, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(128, 128, 128))
            faces = detector.detect(framed)
            if len(faces) == 1:
                f = faces[0]
                out.append((chip, (f.x - pad, f.y - pad, f.width, f.height)))
    assert len(out) >= FAIRFACE_VAL_CHIPS - 4
    return out


def test_the_astronaut_pasted_30_px_wide_is_found_now(detector, astronaut_bgr):
    """Her photo pasted into the rocket photo so that her face is 30 px wide, in four places: found each time
    (the old detection gave her 0.2-0.3 there at most; at 32 px it found her in some places)."""
    assert new_boxes(detector, astronaut_bgr) == [ASTRONAUT_FACE]
    for x, y in ((40, 40), (400, 250), (250, 100), (100, 300)):
        canvas = scene("rocket")
        truth = paste_photo(canvas, astronaut_bgr, ASTRONAUT_FACE, 30, x, y)
        assert old_boxes(detector, canvas) == [], "precondition: the old 300x300 detection misses her"
        boxes = new_boxes(detector, canvas)
        assert len(boxes) == 1 and found(truth, boxes), (x, y, boxes)


@pytest.mark.parametrize("face_width", [40, 32])
def test_small_fairface_faces_are_found_now(detector, fairface_faces, face_width):
    """Of the FairFace faces res10 finds when they are 80 px wide in a 640x480 photo, the new detection finds
    most at 40 px and many at 32 px; the old found none; neither the old nor the new adds a box elsewhere."""
    seen_large, new_found, old_found = 0, 0, 0
    for chip, face in fairface_faces:
        large = scene("coffee")
        if not found(paste_photo(large, chip, face, 80, 300, 200), new_boxes(detector, large)):
            continue
        seen_large += 1
        canvas = scene("coffee")
        truth = paste_photo(canvas, chip, face, face_width, 300, 200)
        new, old = new_boxes(detector, canvas), old_boxes(detector, canvas)
        assert len(new) <= 1 and len(old) <= 1, (new, old)
        new_found += found(truth, new)
        old_found += found(truth, old)
    assert seen_large >= 10
    assert old_found == 0
    assert new_found >= {40: 0.75, 32: 0.5}[face_width] * seen_large, (new_found, seen_large)


def test_face_crops_framed_for_training_get_the_old_boxes(settings, detector_dir, fairface_faces):
    """``training.framing.largest_face`` pads a face crop and keeps its largest face: small photos are seen at
    the old pixel count with every box standing, so the training framing is what it was."""
    from services.contracts import FaceBox
    from training.framing import largest_face

    framing = settings.model_copy(
        update={"detector_confidence": 0.5, "min_face_px": 8}
    )  # as training sets it
    new = FaceDetector(framing)

    class Old:
        def detect(self, image: np.ndarray) -> list[FaceBox]:
            h, w = image.shape[:2]
            return [
                FaceBox.from_pixels(int(x), int(y), int(bw), int(bh), w, h, 1.0)
                for x, y, bw, bh in old_boxes(new, image)
                if bw >= 8
            ]

    compared = 0
    for chip, _ in fairface_faces:
        old_face, new_face = largest_face(Old(), chip), largest_face(new, chip)
        assert (old_face is None) == (new_face is None)
        if old_face is not None and new_face is not None:
            assert (new_face.x, new_face.y, new_face.width, new_face.height) == (
                old_face.x, old_face.y, old_face.width, old_face.height
            )  # fmt: skip
            compared += 1
    assert compared >= 10


def test_the_aspect_ratio_is_kept(detector, astronaut_bgr):
    """In a 3:1 or 1:3 photo the squashed input deformed her face (its box came out 0.93 as tall as wide, or
    not at all); kept, the box has the shape it has on her own photo."""
    for width, height in ((1536, 512), (512, 1536)):
        canvas = canvas_with_astronaut(astronaut_bgr, width, height)
        plan = detector.plan(width, height)
        assert plan.fine.width / plan.fine.height == pytest.approx(width / height, rel=0.01)
        boxes = new_boxes(detector, canvas)
        assert len(boxes) == 1 and iou(boxes[0], ASTRONAUT_FACE) >= 0.85, boxes
        assert boxes[0][3] / boxes[0][2] == pytest.approx(ASTRONAUT_FACE[3] / ASTRONAUT_FACE[2], rel=0.05)
    old_wide = old_boxes(detector, canvas_with_astronaut(astronaut_bgr, 1536, 512))
    assert len(old_wide) == 1 and old_wide[0][3] / old_wide[0][2] < 1.0  # what squashing did


@pytest.mark.parametrize("face_width", [240, 300, 360])
def test_a_large_face_gives_one_box_and_no_ghost(detector, astronaut_bgr, face_width):
    """A face filling half a 640x480 frame or more (a webcam close-up): one box on it. The old detection gave a
    second, shifted box as well (res10's coarse prior boxes), at confidence 0.04-0.2."""
    s = face_width / ASTRONAUT_FACE[2]
    big = cv2.resize(astronaut_bgr, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC)
    cx, cy = (ASTRONAUT_FACE[0] + ASTRONAUT_FACE[2] / 2) * s, (ASTRONAUT_FACE[1] + ASTRONAUT_FACE[3] / 2) * s
    x0, y0 = int(cx - 320), int(max(0, cy - 240))
    frame = np.ascontiguousarray(big[y0 : y0 + 480, x0 : x0 + 640])
    truth = (ASTRONAUT_FACE[0] * s - x0, ASTRONAUT_FACE[1] * s - y0, face_width, ASTRONAUT_FACE[3] * s)
    boxes = new_boxes(detector, frame)
    assert len(boxes) == 1 and iou(boxes[0], truth) >= 0.7, boxes


def test_no_box_on_face_free_real_photos(detector):
    """Real photos without a face, of many kinds: no box, and never more than the old detection gave."""
    from skimage import data

    def grey8(image: np.ndarray) -> np.ndarray:
        image = image.astype(np.float64)
        return (255 * image / image.max()).astype(np.uint8)

    photos = [
        data.coffee(), data.rocket(), data.stereo_motorcycle()[0], data.hubble_deep_field(),
        data.immunohistochemistry(), data.brick(), data.grass(), data.gravel(), grey8(data.horse()),
        data.text(), data.page(), data.coins(), data.moon(), data.cell(), data.retina(), data.clock(),
        data.colorwheel(),
    ]  # fmt: skip
    old_total = 0
    for photo in photos:
        if photo.ndim == 2:
            photo = np.repeat(photo[:, :, None], 3, axis=2)
        bgr = np.ascontiguousarray(photo[:, :, :3][:, :, ::-1])
        assert new_boxes(detector, bgr) == [], photo.shape
        old_total += len(old_boxes(detector, bgr))
    assert old_total >= 1  # the old detection took the clock for a face (confidence 0.56)


def test_smallest_face_is_reported_per_image_size(detector):
    assert detector.smallest_face(640, 480) == pytest.approx(32)
    assert 75 < detector.smallest_face(1600, 1200) < 85
