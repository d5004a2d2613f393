"""Face detection with OpenCV's res10 SSD (a ResNet-10 Caffe model trained at 300x300 input).

``FaceDetector`` loads the network once; ``detect`` turns an ``HxWx3 uint8 BGR`` image into face boxes in
that image's pixels, clipped to it, left to right. The image keeps its aspect ratio and is seen at the scale
``services.detector.scales`` picks for it (a fine pass for small faces, a coarse one for large faces when
needed). Measured limits (``docs/detector.md``): in a 640x480 photo it finds 0.95 of the faces 40 px wide and
0.88 of those 32 px wide, at 1.7-1.9x the time of the old single 300x300 pass (about 2x with a large face).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import cv2
import numpy as np

from services.contracts import FaceBox
from services.detector.scales import (
    ScalePlan,
    face_shaped_rows,
    needs_coarse_pass,
    plan_scales,
    rows_in_band,
    unclipped_widths,
)
from services.detector.setup import CAFFEMODEL_NAME, PROTOTXT_NAME, detector_file_problems
from services.errors import ModelError
from services.settings import Settings

log = logging.getLogger(__name__)

# The fine pass's own wide box stands in for a frame-filling face the coarse pass misses only when res10 is sure
# of it, it is face-shaped (height at most twice the width) and it lies in the picture.
FALLBACK_MIN_CONFIDENCE = 0.8
FALLBACK_MAX_ASPECT = 2.0
FALLBACK_MIN_INSIDE = 0.8  # and at least this share of its width inside the image

# Per-channel BGR mean the model was trained with; pixels are not scaled (scale factor 1.0).
RES10_MEAN_BGR = (104.0, 177.0, 123.0)
# A box with this much of its area inside a larger, more confident one is part of that face, not another face.
NESTED_FRACTION = 0.5


@dataclass(frozen=True)
class PixelBox:
    """An axis-aligned box in image pixels: ``x0 <= x < x1``, ``y0 <= y < y1``."""

    x0: int
    y0: int
    x1: int
    y1: int
    confidence: float

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0


def clip_relative_boxes(
    detections: np.ndarray, image_width: int, image_height: int, min_confidence: float
) -> list[PixelBox]:
    """SSD rows ``[confidence, x0, y0, x1, y1]`` (coordinates as fractions of the image, possibly outside
    [0, 1]) → pixel boxes clipped to the image; rows under ``min_confidence``, non-finite, or with nothing left
    inside the image after clipping are dropped."""
    boxes: list[PixelBox] = []
    for confidence, rx0, ry0, rx1, ry1 in np.asarray(detections, dtype=np.float64).reshape(-1, 5):
        if not np.isfinite([confidence, rx0, ry0, rx1, ry1]).all() or confidence < min_confidence:
            continue
        x0, x1 = _to_pixels(rx0, image_width), _to_pixels(rx1, image_width)
        y0, y1 = _to_pixels(ry0, image_height), _to_pixels(ry1, image_height)
        if x1 <= x0 or y1 <= y0:
            continue
        boxes.append(PixelBox(x0, y0, x1, y1, float(min(max(confidence, 0.0), 1.0))))
    return boxes


def _to_pixels(fraction: float, size: int) -> int:
    """A fraction of the image side, clipped to [0, 1], as the nearest pixel edge in [0, size]."""
    return int(np.floor(min(max(float(fraction), 0.0), 1.0) * size + 0.5))


def suppress_overlaps(boxes: list[PixelBox], iou_threshold: float) -> list[PixelBox]:
    """Non-maximum suppression (``cv2.dnn.NMSBoxes``): of boxes overlapping more than ``iou_threshold``
    IoU only the most confident stays."""
    if len(boxes) < 2:
        return list(boxes)
    rects = [[b.x0, b.y0, b.width, b.height] for b in boxes]
    scores = [b.confidence for b in boxes]
    keep = cv2.dnn.NMSBoxes(rects, scores, 0.0, iou_threshold)
    return [boxes[i] for i in np.asarray(keep, dtype=np.int64).reshape(-1)]


def suppress_nested(boxes: list[PixelBox], fraction: float) -> list[PixelBox]:
    """Drop a box when at least ``fraction`` of its area lies inside a larger, more confident box.

    NMS by IoU keeps such pairs (a 40 px box inside a 120 px one has IoU 0.1), yet a face does not sit inside
    another face's box: res10 at a fine scale sometimes fires on part of a large face (a chin, a cheek).
    """
    kept: list[PixelBox] = []
    for box in sorted(boxes, key=lambda b: -b.confidence):
        area = box.width * box.height
        if not any(
            other.width * other.height > area and _intersection(box, other) >= fraction * area
            for other in kept
        ):
            kept.append(box)
    return kept


def _intersection(a: PixelBox, b: PixelBox) -> int:
    return max(0, min(a.x1, b.x1) - max(a.x0, b.x0)) * max(0, min(a.y1, b.y1) - max(a.y0, b.y0))


class FaceDetector:
    """res10 SSD loaded once from ``settings.detector_dir`` (both files SHA-256 checked).

    Two copies of the network are kept, one for the fine pass and one for the coarse pass: a cv2.dnn ``Net``
    re-plans its blobs whenever its input shape changes (5-15 ms for these sizes), so one network taking turns
    between the two sizes would pay that twice per image. ``detect`` may be called from several threads: each
    network is guarded by its own lock, since a ``Net`` keeps its input and intermediate blobs in the object.
    """

    def __init__(self, settings: Settings) -> None:
        folder = settings.detector_dir
        problems = detector_file_problems(folder)
        if problems:
            listed = "; ".join(f"{name}: {what}" for name, what in problems.items())
            raise ModelError(
                f"res10 face detector files in {folder} are not usable ({listed}). Run `emoticon setup` to "
                "fetch them (or see docs/detector.md to place them by hand)."
            )
        try:
            self._nets = {
                role: (
                    cv2.dnn.readNetFromCaffe(str(folder / PROTOTXT_NAME), str(folder / CAFFEMODEL_NAME)),
                    threading.Lock(),
                )
                for role in ("fine", "coarse")
            }
        except cv2.error as exc:
            raise ModelError(f"OpenCV cannot load the res10 detector from {folder}: {exc}") from exc
        self.input_side = settings.detector_input
        self.smallest_face_px = settings.detector_smallest_face_px
        self.max_input_pixels = settings.detector_max_input_pixels
        self.confidence = settings.detector_confidence
        self.nms_iou = settings.detector_nms_iou
        self.min_face_px = settings.min_face_px
        log.info(
            "res10 face detector loaded from %s (scaled for %d px faces, at most %d input pixels)",
            folder,
            self.smallest_face_px,
            self.max_input_pixels,
        )

    def plan(self, width: int, height: int) -> ScalePlan:
        """The input sizes a ``width x height`` image is seen at (``services.detector.scales``)."""
        return plan_scales(
            width,
            height,
            smallest_face_px=self.smallest_face_px,
            max_input_pixels=self.max_input_pixels,
            input_side=self.input_side,
        )

    def smallest_face(self, width: int, height: int) -> float:
        """The face width in image pixels that detection is scaled for in a ``width x height`` image: faces
        this wide and wider are found (``docs/detector.md`` has the measured rates), smaller ones less often."""
        return self.plan(width, height).smallest_face_px

    def raw_detections(
        self, image_bgr: np.ndarray, input_size: tuple[int, int] | None = None, *, coarse: bool = False
    ) -> np.ndarray:
        """Run the network once on the whole image resized to ``input_size`` (``(w, h)``; by default the fine
        pass's size, aspect ratio kept): ``Nx5 float32`` rows ``[confidence, x0, y0, x1, y1]``, coordinates as
        fractions of the image (not clipped; may lie outside [0, 1]). ``coarse`` runs it on the coarse pass's
        copy of the network."""
        _check_image(image_bgr)
        if input_size is None:
            fine = self.plan(image_bgr.shape[1], image_bgr.shape[0]).fine
            input_size = (fine.width, fine.height)
        blob = cv2.dnn.blobFromImage(
            cv2.resize(
                image_bgr, input_size, interpolation=_interpolation(input_size[0] / image_bgr.shape[1])
            ),
            scalefactor=1.0,
            size=input_size,
            mean=RES10_MEAN_BGR,
            swapRB=False,
            crop=False,
        )
        net, lock = self._nets["coarse" if coarse else "fine"]
        with lock:
            net.setInput(blob)
            output = net.forward()  # 1x1xNx7: [image_id, class_id, confidence, x0, y0, x1, y1]
        return np.ascontiguousarray(output.reshape(-1, 7)[:, 2:7], dtype=np.float32)

    def detect_rows(self, image_bgr: np.ndarray) -> np.ndarray:
        """The rows of every pass the image's plan calls for, each pass's kept to its band, and only
        face-shaped ones (see ``services.detector.scales``), in one ``Nx5 float32`` array like
        ``raw_detections``."""
        _check_image(image_bgr)
        height, width = image_bgr.shape[:2]
        plan = self.plan(width, height)
        rows = self.raw_detections(image_bgr, (plan.fine.width, plan.fine.height))
        kept = [rows_in_band(rows, width, plan.fine)]
        if plan.coarse is not None and needs_coarse_pass(rows, width, plan, self.confidence):
            coarse = self.raw_detections(image_bgr, (plan.coarse.width, plan.coarse.height), coarse=True)
            coarse_kept = rows_in_band(coarse, width, plan.coarse)
            if not (coarse_kept[:, 0] >= self.confidence).any():
                # A face filling the frame (a selfie, a face crop) can be too big for the fine band and too
                # small a picture for the coarse one: then the fine pass's own wide box stands (measured on
                # held-out hand-labelled face photos: 96 % found with this, 81 % without).
                # Only sure, face-shaped ones: a wide fine-pass box on texture is a ghost.
                wide = rows[unclipped_widths(rows, width) >= plan.fine.max_face_px]
                full = unclipped_widths(wide, width)
                tall = (wide[:, 4] - wide[:, 2]) * height <= FALLBACK_MAX_ASPECT * full
                inside = (
                    np.minimum(wide[:, 3], 1) - np.maximum(wide[:, 1], 0)
                ) * width >= FALLBACK_MIN_INSIDE * full
                coarse_kept = wide[
                    (wide[:, 0] >= max(self.confidence, FALLBACK_MIN_CONFIDENCE)) & tall & inside
                ]
            kept.append(coarse_kept)
        return face_shaped_rows(np.concatenate(kept, axis=0), width, height)

    def detect(self, image_bgr: np.ndarray) -> list[FaceBox]:
        """Faces in an ``HxWx3 uint8 BGR`` image, left to right; an empty list when there are none.

        Boxes are in the image's pixels, clipped to it; detections under ``detector_confidence``, wholly
        outside the image, or narrower than ``min_face_px`` after clipping are dropped (narrow ones before
        NMS, so a dropped sliver cannot suppress a real face), then overlaps above ``detector_nms_iou`` across the
        passes, then boxes lying mostly inside a larger, more confident one.
        """
        height, width = image_bgr.shape[:2]
        boxes = clip_relative_boxes(self.detect_rows(image_bgr), width, height, self.confidence)
        boxes = [b for b in boxes if b.width >= self.min_face_px]
        boxes = suppress_nested(suppress_overlaps(boxes, self.nms_iou), NESTED_FRACTION)
        boxes.sort(key=lambda b: (b.x0, b.y0))
        return [
            FaceBox.from_pixels(b.x0, b.y0, b.width, b.height, width, height, b.confidence) for b in boxes
        ]


def _interpolation(scale: float) -> int:
    """Bilinear for a mild shrink (a 640x480 photo to 512x384: 0.4 ms instead of INTER_AREA's 2 ms, and the same
    recall in bench/detector_small_faces.py); INTER_AREA to shrink by 2x or more (no aliasing) and, as before,
    to enlarge."""
    return cv2.INTER_LINEAR if 0.5 <= scale < 1.0 else cv2.INTER_AREA


def _check_image(image_bgr: np.ndarray) -> None:
    if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 BGR image, got {image_bgr.shape} {image_bgr.dtype}")
    if image_bgr.shape[0] == 0 or image_bgr.shape[1] == 0:
        raise ValueError(f"empty image {image_bgr.shape}")
