"""Turn dataset images into head inputs framed the way the service frames a detected face.

- Emotion (FER2013, 48x48 grey tight crops): the image is the face; ``crop_face`` with the whole image as the
  box and margin 0. At serving time the res10 box is widened by the head's ``crop_margin`` so that a detected
  face is framed like a FER2013 crop (measured: see the emotion model card).
- Colour heads: the real res10 detector runs on every training image and the largest face is cut with
  ``crop_face(image, box, size, spec.crop_margin)`` — exactly the serving path. Images where res10 finds no
  face of at least a quarter of the image width (tight crops it cannot see, profiles) fall back to the whole
  image as the box; the card reports how many did.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from services.contracts import FaceBox
from services.crop import crop_face, region_box

from .data import Sample, load_image
from .heads import HeadSpec

log = logging.getLogger(__name__)

# Datasets that are photos rather than tight face crops: framed by res10 even for the grey emotion head,
# exactly as serving frames a detected face (TFEID: 160 px studio portraits with shoulders).
DETECTOR_FRAMED = frozenset({"tfeid"})


def largest_face(detector, image_bgr: np.ndarray) -> FaceBox | None:
    """Largest res10 face at least a quarter of the image wide, clipped to the image (as serving clips).

    A replicated border lets res10 see faces that fill the whole crop (it rarely fires on edge-to-edge faces).
    """
    h, w = image_bgr.shape[:2]
    pad = int(0.25 * max(h, w))
    padded = cv2.copyMakeBorder(image_bgr, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    faces = [f for f in detector.detect(padded) if f.width >= 0.25 * w]
    if not faces:
        return None
    f = max(faces, key=lambda f: f.width * f.height)
    x, y = max(0, f.x - pad), max(0, f.y - pad)
    fw, fh = min(w - x, f.x - pad + f.width - x), min(h - y, f.y - pad + f.height - y)
    if fw <= 0 or fh <= 0:
        return None
    return FaceBox.from_pixels(x, y, fw, fh, w, h, f.confidence)


def whole_image_box(image: np.ndarray) -> tuple[float, float, float, float]:
    h, w = image.shape[:2]
    return (0.0, 0.0, float(w), float(h))


class DetectorFraming:
    """Largest res10 face per image, or the whole image when none is wide enough."""

    def __init__(self) -> None:
        from services.detector import FaceDetector
        from services.settings import get_settings

        settings = get_settings().model_copy(update={"detector_confidence": 0.5, "min_face_px": 8})
        self.detector = FaceDetector(settings)
        self.counts: Counter[str] = Counter()

    def box(self, image_bgr: np.ndarray) -> tuple[tuple[float, float, float, float], bool]:
        """``(box, detected)``: the face box in image pixels and whether res10 found it."""
        face = largest_face(self.detector, image_bgr)
        if face is None:
            self.counts["whole_image"] += 1
            return whole_image_box(image_bgr), False
        self.counts["detected"] += 1
        return (float(face.x), float(face.y), float(face.width), float(face.height)), True


class BoxCache:
    """res10's largest-face box per dataset image, kept on disk (``cache_dir/res10-boxes.json``) and shared by
    every head: the detector is the slow part of framing, the crop itself is cheap."""

    def __init__(self, cache_dir: Path) -> None:
        self.path = cache_dir / "res10-boxes.json"
        self.boxes: dict[str, list[float]] = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.framing: DetectorFraming | None = None
        self.dirty = False

    def box(self, s: Sample, image_bgr: np.ndarray) -> tuple[tuple[float, float, float, float], bool]:
        key = f"{s.dataset}:{s.path}"
        if key not in self.boxes:
            self.framing = self.framing or DetectorFraming()
            box, detected = self.framing.box(image_bgr)
            self.boxes[key] = [*box, float(detected)]
            self.dirty = True
        *box, detected = self.boxes[key]
        return (box[0], box[1], box[2], box[3]), bool(detected)

    def save(self) -> None:
        if self.dirty:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists():  # another run may have added boxes meanwhile: keep theirs too
                self.boxes = {**json.loads(self.path.read_text()), **self.boxes}
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self.boxes))
            tmp.replace(self.path)
            self.dirty = False


def frame_with_box(
    image: np.ndarray, spec: HeadSpec, box: tuple[float, float, float, float], detected: bool
) -> np.ndarray:
    """One dataset image and its face box → ``C x S x S`` uint8 in the head's colour order (the serving crop)."""
    if spec.colour == "gray":
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        return crop_face(gray, box, spec.input_size, spec.crop_margin if detected else 0.0)[None]
    bgr = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if spec.region:  # the same sub-box serving cuts (services.classifier.heads), from a box or the whole crop
        crop = crop_face(bgr, region_box(box, spec.region), spec.input_size, 0.0)
    else:
        crop = crop_face(bgr, box, spec.input_size, spec.crop_margin if detected else 0.0)
    return cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).transpose(2, 0, 1)


def build_arrays(
    samples: Sequence[Sample], spec: HeadSpec, cache_dir: Path, use_detector: bool
) -> tuple[np.ndarray, dict[str, int]]:
    """Framed inputs for every sample (``N x C x S x S`` uint8). res10 boxes are cached per image
    (:class:`BoxCache`), so new labels or another head only cost the crops."""
    boxes = BoxCache(cache_dir)
    counts: Counter[str] = Counter()
    x = np.zeros((len(samples), spec.channels, spec.input_size, spec.input_size), np.uint8)
    try:
        for i, s in enumerate(tqdm(samples, desc=f"framing {spec.name}", mininterval=10)):
            image = load_image(s.dataset, s.path, grayscale=spec.colour == "gray")
            if use_detector or s.dataset in DETECTOR_FRAMED:
                bgr = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
                box, detected = boxes.box(s, bgr)
            else:
                box, detected = whole_image_box(image), False
            counts["detected" if detected else "whole_image"] += 1
            x[i] = frame_with_box(image, spec, box, detected)
            if i % 500 == 499:
                boxes.save()
    finally:
        boxes.save()
    log.info("framed %d %s images: %s", len(samples), spec.name, dict(counts))
    return x, dict(counts)
