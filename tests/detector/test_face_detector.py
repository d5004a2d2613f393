"""FaceDetector on real photos: one face, several faces, none, and faces cut by the image border."""

from __future__ import annotations

import threading
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from services.contracts import FaceBox
from services.detector import FaceDetector
from services.detector.res10 import PixelBox, clip_relative_boxes, suppress_overlaps
from services.errors import ModelError
from services.settings import Settings

# Three FairFace chips (val split of the zip) of different groups, and where they go on the test canvas.
FAIRFACE_CHIPS = ("val/Middle_Eastern/765.jpg", "val/Latino_Hispanic/1293.jpg", "val/Black/849.jpg")


def box_contains(box: FaceBox, x: float, y: float) -> bool:
    return box.x <= x < box.x + box.width and box.y <= y < box.y + box.height


def assert_inside_image(boxes: list[FaceBox], image: np.ndarray) -> None:
    height, width = image.shape[:2]
    for box in boxes:
        assert box.x >= 0 and box.y >= 0 and box.width > 0 and box.height > 0
        assert box.x + box.width <= width and box.y + box.height <= height
        assert 0 <= box.relative.x <= 1 and box.relative.x + box.relative.width <= 1 + 1e-9


def real_background(width: int, height: int) -> np.ndarray:
    """scikit-image's rocket launch photo (no faces), resized: HxWx3 uint8 BGR."""
    from skimage import data

    return np.ascontiguousarray(
        cv2.resize(data.rocket()[:, :, ::-1], (width, height), interpolation=cv2.INTER_AREA)
    )


@pytest.fixture(scope="module")
def four_faces(
    astronaut_bgr: np.ndarray, datasets_dir: Path
) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """An 800x300 real background with four real faces side by side; returns the image and each pasted
    patch's (x, y, w, h), left to right."""
    canvas = real_background(800, 300)
    patches: list[np.ndarray] = [
        cv2.resize(astronaut_bgr[30:210, 136:316], (170, 170), interpolation=cv2.INTER_AREA)
    ]
    with zipfile.ZipFile(datasets_dir / "fairface_train.zip") as zf:
        for name in FAIRFACE_CHIPS:
            patches.append(cv2.imdecode(np.frombuffer(zf.read(name), np.uint8), cv2.IMREAD_COLOR))
    placed = []
    for patch, x in zip(patches, (20, 220, 420, 620), strict=True):
        h, w = patch.shape[:2]
        y = (300 - h) // 2
        canvas[y : y + h, x : x + w] = patch
        placed.append((x, y, w, h))
    return canvas, placed


def test_astronaut_has_exactly_one_face_around_her_face(detector, astronaut_bgr):
    faces = detector.detect(astronaut_bgr)
    assert len(faces) == 1
    face = faces[0]
    assert face.confidence > 0.9
    # Her face lies roughly between x 0.35-0.53 and y 0.11-0.35 of the 512x512 photo: the box must hold its
    # middle (nose, about (0.44, 0.24)) and be face-sized, not the whole head-and-suit.
    assert box_contains(face, 0.44 * 512, 0.24 * 512)
    assert 0.35 * 512 <= face.x + face.width / 2 <= 0.53 * 512
    assert 0.12 * 512 <= face.y + face.height / 2 <= 0.35 * 512
    assert 60 <= face.width <= 150 and 70 <= face.height <= 180
    assert face.relative.x == pytest.approx(face.x / 512)
    assert_inside_image(faces, astronaut_bgr)


def test_four_faces_one_box_each_left_to_right(detector, four_faces):
    image, placed = four_faces
    faces = detector.detect(image)
    assert len(faces) == len(placed)
    assert [f.x for f in faces] == sorted(f.x for f in faces)
    for face, (x, y, w, h) in zip(faces, placed, strict=True):
        cx, cy = face.x + face.width / 2, face.y + face.height / 2
        assert x <= cx < x + w and y <= cy < y + h, (face, (x, y, w, h))
        assert face.width <= w * 1.1
    assert_inside_image(faces, image)


def test_face_free_photos_give_no_faces(detector):
    from skimage import data

    # Not data.chelsea(): res10 takes that cat's face for a human one (confidence 0.70; docs/detector.md).
    for rgb in (data.coffee(), data.rocket(), data.stereo_motorcycle()[0]):
        assert detector.detect(np.ascontiguousarray(rgb[:, :, ::-1])) == []


def test_face_cut_by_the_left_border_is_clipped(detector, astronaut_bgr):
    cut = np.ascontiguousarray(astronaut_bgr[:, 220:])  # her face now starts left of the image
    raw = detector.raw_detections(cut)
    confident = raw[raw[:, 0] >= detector.confidence]
    assert len(confident) >= 1 and confident[:, 1].min() < 0, (
        "precondition: res10 gives a box reaching past x=0"
    )
    faces = detector.detect(cut)
    assert len(faces) == 1
    assert faces[0].x == 0
    assert_inside_image(faces, cut)


def test_boxes_wholly_outside_the_image_are_dropped(detector):
    """res10 returns rows lying entirely outside [0, 1] on real photos; none may come through."""
    from skimage import data

    coffee = np.ascontiguousarray(data.coffee()[:, :, ::-1])
    raw = detector.raw_detections(coffee)
    outside = (raw[:, 1] >= 1) | (raw[:, 2] >= 1) | (raw[:, 3] <= 0) | (raw[:, 4] <= 0)
    assert outside.any(), "precondition: the network output holds rows outside the image"
    low_bar = clip_relative_boxes(raw, coffee.shape[1], coffee.shape[0], min_confidence=0.0)
    assert 1 <= len(low_bar) <= int((~outside).sum())
    for box in low_bar:
        assert 0 <= box.x0 < box.x1 <= coffee.shape[1] and 0 <= box.y0 < box.y1 <= coffee.shape[0]


def test_min_face_px_drops_narrow_faces(settings, detector_dir, astronaut_bgr):
    wide_only = FaceDetector(settings.model_copy(update={"min_face_px": 200}))
    assert wide_only.detect(astronaut_bgr) == []


def test_confidence_threshold_is_applied(settings, detector_dir, astronaut_bgr, detector):
    score = detector.detect(astronaut_bgr)[0].confidence
    strict = FaceDetector(settings.model_copy(update={"detector_confidence": min(1.0, score + 1e-6)}))
    assert strict.detect(astronaut_bgr) == []


def test_larger_network_input_still_finds_the_face(settings, detector_dir, astronaut_bgr):
    faces = FaceDetector(settings.model_copy(update={"detector_input": 600})).detect(astronaut_bgr)
    assert len(faces) == 1 and box_contains(faces[0], 0.44 * 512, 0.24 * 512)


def test_concurrent_calls_give_the_serial_results(detector, astronaut_bgr, four_faces):
    images = [astronaut_bgr, four_faces[0]] * 4
    expected = [detector.detect(image) for image in images]
    results: list[list[FaceBox] | None] = [None] * len(images)

    def work(i: int) -> None:
        for _ in range(3):
            results[i] = detector.detect(images[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(images))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == expected


def test_rejects_images_that_are_not_hxwx3_uint8(detector, astronaut_bgr):
    with pytest.raises(ValueError):
        detector.detect(astronaut_bgr[:, :, 0])
    with pytest.raises(ValueError):
        detector.detect(astronaut_bgr.astype(np.float32))


def test_missing_files_ask_for_emoticon_setup(tmp_path):
    with pytest.raises(ModelError, match="emoticon setup") as caught:
        FaceDetector(Settings(cache_dir=tmp_path))
    assert caught.value.http_status == 503


def test_damaged_weights_are_refused(tmp_path, detector_dir):
    folder = tmp_path / "res10"
    folder.mkdir()
    for source in detector_dir.iterdir():
        (folder / source.name).write_bytes(source.read_bytes())
    weights = next(folder.glob("*.caffemodel"))
    damaged = bytearray(weights.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    weights.write_bytes(bytes(damaged))
    with pytest.raises(ModelError, match="SHA-256"):
        FaceDetector(Settings(cache_dir=tmp_path))


# Pure functions: clipping and overlap suppression.


def test_clip_relative_boxes():
    rows = np.array(
        [
            [0.9, 0.10, 0.20, 0.30, 0.50],  # inside
            [0.8, -0.20, 0.10, 0.20, 0.40],  # left part outside: clipped at 0
            [0.7, 0.90, 0.90, 1.30, 1.20],  # right-bottom part outside: clipped at the far edges
            [0.99, 4.10, 0.03, 4.80, 0.98],  # wholly right of the image
            [0.99, 0.20, -0.9, 0.40, -0.1],  # wholly above
            [0.6, 0.50, 0.50, 0.50, 0.70],  # zero width
            [0.3, 0.10, 0.10, 0.20, 0.20],  # under the threshold
            [np.nan, 0.1, 0.1, 0.2, 0.2],
        ]
    )
    boxes = clip_relative_boxes(rows, image_width=200, image_height=100, min_confidence=0.5)
    assert [(b.x0, b.y0, b.x1, b.y1) for b in boxes] == [
        (20, 20, 60, 50),
        (0, 10, 40, 40),
        (180, 90, 200, 100),
    ]


def test_suppress_overlaps_keeps_the_most_confident():
    a = PixelBox(10, 10, 60, 60, 0.9)
    b = PixelBox(14, 12, 62, 64, 0.95)  # IoU with a is about 0.8
    c = PixelBox(100, 10, 150, 60, 0.6)  # far away
    kept = suppress_overlaps([a, b, c], iou_threshold=0.3)
    assert sorted(kept, key=lambda box: box.x0) == [b, c]
    assert suppress_overlaps([a, b, c], iou_threshold=0.95) == [b, a, c]
