"""The stage functions, and the embedded chain that calls them in one process.

Celery tasks (``services.worker``) and the embedded mode (CLI, ``emoticon serve``) call exactly these
functions; only where inputs come from and outputs go differs.

    detect_stage   bytes            -> DecodedImage, [FaceBox]
    classify_stage image, [FaceBox] -> [FaceAttributes]
    compose_stage  image, boxes, attributes, options -> ComposedImage (ImageResult + rendered files)

A face's PNG is drawn from its attributes alone, so the service draws it when it is first asked for
(``services.renders``) and the stages only draw what needs the photo (the overlay) or is cheap (the SVGs);
``face_png_files`` draws them all for callers that want every file now (the CLI).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from services.classifier import FaceClassifier
from services.composer import emoji_for, render_overlay, render_png, render_svg
from services.contracts import FaceAttributes, FaceBox, FaceResult, ImageInfo, ImageResult, RenderOptions
from services.detector import FaceDetector
from services.imaging import DecodedImage, decode_image
from services.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class ComposedImage:
    """The result plus its rendered files, keyed by their path under the job: ``faces/0.svg`` ...,
    ``overlay.png``. Face PNGs are not among them: ``face_png_files`` draws them."""

    result: ImageResult
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Models:
    """Everything loaded once per process."""

    detector: FaceDetector
    classifier: FaceClassifier

    @classmethod
    def load(cls, settings: Settings) -> Models:
        return cls(detector=FaceDetector(settings), classifier=FaceClassifier(settings))


def detect_stage(
    data: bytes, detector: FaceDetector | None, settings: Settings, whole_face: bool = False
) -> tuple[DecodedImage, list[FaceBox]]:
    """Decode the upload and find every face; ``whole_face`` treats the whole image as one face."""
    decoded = decode_image(data, settings)
    if whole_face:
        h, w = decoded.bgr.shape[:2]
        return decoded, [FaceBox.from_pixels(0, 0, w, h, w, h, 1.0)]
    assert detector is not None, "a detector is needed unless whole_face"
    return decoded, detector.detect(decoded.bgr)


def classify_stage(image_bgr: np.ndarray, boxes: list[FaceBox], classifier: FaceClassifier) -> list[FaceAttributes]:
    return classifier.classify(image_bgr, boxes)


def compose_stage(
    image_bgr: np.ndarray,
    info: ImageInfo,
    boxes: list[FaceBox],
    attributes: list[FaceAttributes],
    options: RenderOptions,
    timings_ms: dict[str, float] | None = None,
) -> ComposedImage:
    """Build the ``ImageResult`` (emoji per face) and render every face as SVG, plus, when
    ``options.renders == "all"``, the overlay (it needs the photo, which is not kept after the job)."""
    faces = [
        FaceResult(index=i, box=box, attributes=attrs, emoji=emoji_for(attrs, options.tone))
        for i, (box, attrs) in enumerate(zip(boxes, attributes, strict=True))
    ]
    files = {f"faces/{face.index}.svg": render_svg(face.attributes, options).encode() for face in faces}
    if options.renders == "all":
        files["overlay.png"] = render_overlay(image_bgr, faces, options)
    result = ImageResult(image=info, faces=faces, timings_ms=timings_ms or {})
    return ComposedImage(result=result, files=files)


def face_png_path(index: int) -> str:
    return f"faces/{index}.png"


def face_png_files(result: ImageResult, options: RenderOptions) -> dict[str, bytes]:
    """Every face's PNG (``options.size`` px), keyed ``faces/{n}.png``; empty when ``options.renders`` is "svg"."""
    if options.renders != "all":
        return {}
    return {face_png_path(face.index): render_png(face.attributes, options) for face in result.faces}


def analyze(
    data: bytes, models: Models, settings: Settings, options: RenderOptions | None = None, whole_face: bool = False
) -> ComposedImage:
    """The embedded chain: all three stages in this process."""
    options = options or RenderOptions()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    decoded, boxes = detect_stage(data, models.detector, settings, whole_face=whole_face)
    t1 = time.perf_counter()
    attributes = classify_stage(decoded.bgr, boxes, models.classifier)
    t2 = time.perf_counter()
    timings.update(detector=round((t1 - t0) * 1000, 2), classifier=round((t2 - t1) * 1000, 2))
    composed = compose_stage(decoded.bgr, decoded.info, boxes, attributes, options, timings)
    composed.result.timings_ms["composer"] = round((time.perf_counter() - t2) * 1000, 2)
    log.info("analyzed image", extra={"faces": len(boxes), "timings_ms": composed.result.timings_ms})
    return composed
