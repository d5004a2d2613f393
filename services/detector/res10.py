"""Face detection with OpenCV's res10 SSD (a ResNet-10 Caffe model trained at 300x300 input).

``FaceDetector`` loads the network once; ``detect`` turns an ``HxWx3 uint8 BGR`` image into face boxes in
that image's pixels, clipped to it, left to right. Measured limits (``docs/detector.md``): at the default
300 input and confidence 0.5 res10 finds most faces 48 px and wider in a 640x480 photo and few under 32 px.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import cv2
import numpy as np

from services.contracts import FaceBox
from services.detector.setup import CAFFEMODEL_NAME, PROTOTXT_NAME, detector_file_problems
from services.errors import ModelError
from services.settings import Settings

log = logging.getLogger(__name__)

# Per-channel BGR mean the model was trained with; pixels are not scaled (scale factor 1.0).
RES10_MEAN_BGR = (104.0, 177.0, 123.0)


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


class FaceDetector:
    """res10 SSD loaded once from ``settings.detector_dir`` (both files SHA-256 checked).

    ``detect`` may be called from several threads: the one network is guarded by a lock, since a cv2.dnn
    ``Net`` keeps its input and intermediate blobs in the object.
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
            self._net = cv2.dnn.readNetFromCaffe(str(folder / PROTOTXT_NAME), str(folder / CAFFEMODEL_NAME))
        except cv2.error as exc:
            raise ModelError(f"OpenCV cannot load the res10 detector from {folder}: {exc}") from exc
        self._lock = threading.Lock()
        self.input_side = settings.detector_input
        self.confidence = settings.detector_confidence
        self.nms_iou = settings.detector_nms_iou
        self.min_face_px = settings.min_face_px
        log.info("res10 face detector loaded from %s (input %d)", folder, self.input_side)

    def raw_detections(self, image_bgr: np.ndarray) -> np.ndarray:
        """Run the network once: ``Nx5 float32`` rows ``[confidence, x0, y0, x1, y1]``, coordinates as fractions
        of the image (not clipped; may lie outside [0, 1])."""
        _check_image(image_bgr)
        side = self.input_side
        blob = cv2.dnn.blobFromImage(
            cv2.resize(image_bgr, (side, side), interpolation=cv2.INTER_AREA),
            scalefactor=1.0,
            size=(side, side),
            mean=RES10_MEAN_BGR,
            swapRB=False,
            crop=False,
        )
        with self._lock:
            self._net.setInput(blob)
            output = self._net.forward()  # 1x1xNx7: [image_id, class_id, confidence, x0, y0, x1, y1]
        return np.ascontiguousarray(output.reshape(-1, 7)[:, 2:7], dtype=np.float32)

    def detect(self, image_bgr: np.ndarray) -> list[FaceBox]:
        """Faces in an ``HxWx3 uint8 BGR`` image, left to right; an empty list when there are none.

        Boxes are in the image's pixels, clipped to it; detections under ``detector_confidence``, wholly
        outside the image, or narrower than ``min_face_px`` after clipping are dropped (narrow ones before
        NMS, so a dropped sliver cannot suppress a real face), then overlaps above ``detector_nms_iou``.
        """
        height, width = image_bgr.shape[:2]
        boxes = clip_relative_boxes(self.raw_detections(image_bgr), width, height, self.confidence)
        boxes = [b for b in boxes if b.width >= self.min_face_px]
        boxes = suppress_overlaps(boxes, self.nms_iou)
        boxes.sort(key=lambda b: (b.x0, b.y0))
        return [
            FaceBox.from_pixels(b.x0, b.y0, b.width, b.height, width, height, b.confidence) for b in boxes
        ]


def _check_image(image_bgr: np.ndarray) -> None:
    if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 BGR image, got {image_bgr.shape} {image_bgr.dtype}")
    if image_bgr.shape[0] == 0 or image_bgr.shape[1] == 0:
        raise ValueError(f"empty image {image_bgr.shape}")
