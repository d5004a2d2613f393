"""The data passed between stages: the one place where it is declared.

The gateway, the Celery tasks, the embedded pipeline and the CLI all import these models; the JSON the API
returns is these models serialised. Pixel arrays never appear here: at module boundaries images are
``HxWx3 uint8 BGR`` numpy arrays (OpenCV's order), converted once when decoded.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

from pydantic import BaseModel, Field

# Fixed label vocabularies, in the order the heads output them.
EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
EYEWEAR: tuple[str, ...] = ("none", "glasses", "sunglasses")
MASKS: tuple[str, ...] = ("none", "mask", "mask_incorrect")
SKIN_TONES: tuple[str, ...] = ("light", "medium_light", "medium", "medium_dark", "dark")
# The skin_tone label when the head cannot tell (greyscale image, tone not visible): drawn yellow, no emoji
# modifier. Not a head output, so not in SKIN_TONES / HEAD_LABELS (the model manifest check uses those).
TONE_UNKNOWN = "unknown"
HEAD_LABELS: dict[str, tuple[str, ...]] = {
    "emotion": EMOTIONS,
    "eyewear": EYEWEAR,
    "mask": MASKS,
    "skin_tone": SKIN_TONES,
}
HEAD_NAMES: tuple[str, ...] = tuple(HEAD_LABELS)
# The optional fifth head: the lens shape of clear glasses, asked only of faces whose eyewear is "glasses".
FRAME_SHAPES: tuple[str, ...] = ("round", "rectangular")
OPTIONAL_HEAD_LABELS: dict[str, tuple[str, ...]] = {"frame": FRAME_SHAPES}

# Tone a render may be asked for: "auto" uses the classifier's skin_tone, "yellow" the classic emoji face.
ToneChoice = Literal["auto", "yellow", "light", "medium_light", "medium", "medium_dark", "dark"]
ImageFormat = Literal["jpeg", "png", "webp", "bmp"]
RenderSet = Literal["all", "svg"]
# Lens shape a render may be asked for: "auto" follows the classifier's frame output (default lenses without one).
FrameChoice = Literal["auto", "round", "rectangular"]


class ImageInfo(BaseModel):
    """What was decoded: size after EXIF orientation and after the longest-side cap."""

    width: int = Field(gt=0)
    height: int = Field(gt=0)
    format: ImageFormat
    original_width: int = Field(gt=0, description="before the longest-side cap")
    original_height: int = Field(gt=0)
    sha256: str = Field(description="hex digest of the uploaded bytes")


class RelativeBox(BaseModel):
    """A box as fractions of the image's width and height, each in [0, 1]."""

    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)
    width: float = Field(ge=0, le=1)
    height: float = Field(ge=0, le=1)


class FaceBox(BaseModel):
    """One detected face in pixels of the decoded image (top-left origin), clipped to the image."""

    x: int = Field(ge=0)
    y: int = Field(ge=0)
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    confidence: float = Field(ge=0, le=1, description="detector score; 1.0 for --whole-face")
    relative: RelativeBox

    @classmethod
    def from_pixels(
        cls, x: int, y: int, width: int, height: int, image_width: int, image_height: int, confidence: float
    ) -> FaceBox:
        return cls(
            x=x,
            y=y,
            width=width,
            height=height,
            confidence=confidence,
            relative=RelativeBox(
                x=x / image_width,
                y=y / image_height,
                width=width / image_width,
                height=height / image_height,
            ),
        )


class HeadOutput(BaseModel):
    """One head's answer for one face: the top label and the probability of every label of the head's
    vocabulary (sums to 1). For ``skin_tone`` the label may instead be "unknown" (the head cannot tell); the
    probabilities still cover the five tones."""

    label: str = Field(description='one of the head\'s labels; for skin_tone one of SKIN_TONES or "unknown"')
    probabilities: dict[str, float]


class FaceAttributes(BaseModel):
    emotion: HeadOutput
    eyewear: HeadOutput
    mask: HeadOutput
    skin_tone: HeadOutput = Field(
        description='label: light, medium_light, medium, medium_dark, dark, or "unknown" when the tone cannot '
        "be told (greyscale image, face not visible enough): then tone=auto draws the default yellow face and "
        "the emoji has no skin-tone modifier; probabilities still give all five tones"
    )
    frame: HeadOutput | None = Field(
        default=None,
        description="the lens shape of clear glasses, labels round / rectangular (FRAME_SHAPES); null unless "
        'eyewear is "glasses" and the frame output is enabled (EMOTICON_FRAME_SHAPE, off by default); the '
        "composer draws round or rectangular lenses from it, its default lenses when it is null",
    )


class RenderOptions(BaseModel):
    """How an emoticon is drawn; independent of the models, so renders can be redone from attributes."""

    size: int = Field(default=256, ge=16, le=1024, description="PNG side in pixels")
    tone: ToneChoice = "auto"
    renders: RenderSet = Field(
        default="all",
        description="'all': SVG + PNG per face and the overlay; 'svg': SVG only (live video: no overlay is "
        "drawn and PNG-encoded; a face's PNG is drawn only when first fetched either way)",
    )
    frame: FrameChoice = Field(
        default="auto",
        description="lens shape of clear glasses: 'auto' draws attributes.frame (the default lenses when it is "
        "null); 'round' / 'rectangular' draw that shape whenever the face wears glasses",
    )


class FaceResult(BaseModel):
    index: int = Field(ge=0, description="position left to right")
    box: FaceBox
    attributes: FaceAttributes
    emoji: str = Field(description="Unicode emoji string approximating the emoticon")


class ImageResult(BaseModel):
    """Everything known about one image once all stages ran."""

    image: ImageInfo
    faces: list[FaceResult]
    timings_ms: dict[str, float] = Field(default_factory=dict, description="per stage wall time")


class StageHandoff(BaseModel):
    """What a stage hands the next one of the same job: the detector's image info and boxes, then the
    classifier's attributes, and each stage's wall time. A few KB of JSON, carried in the next stage's Celery
    message (distributed) or passed along in process (embedded); the decoded photo stays in the job store."""

    image: ImageInfo | None = None
    boxes: list[FaceBox] | None = None
    attributes: list[FaceAttributes] | None = None
    timings_ms: dict[str, float] = Field(default_factory=dict)


class JobStatus(str, Enum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


FINISHED = (JobStatus.done, JobStatus.failed)  # a job in these states never changes again


class ErrorInfo(BaseModel):
    code: str = Field(
        description="stable machine-readable code: what a request is refused with (invalid_image, "
        "image_too_small, extreme_aspect_ratio, payload_too_large, ...) or what a stage failed with: "
        "worker_crashed (its process died EMOTICON_MAX_STAGE_CRASHES times on this image), timeout, "
        "model_error, internal_error, job_expired"
    )
    message: str = Field(description="for people: what went wrong, quoting the server's own limits")


class JobState(BaseModel):
    id: str
    status: JobStatus
    stage: Literal["detector", "classifier", "composer"] | None = None
    error: ErrorInfo | None = None
    created_at: float
    updated_at: float
    options: RenderOptions = Field(default_factory=RenderOptions)
    result: ImageResult | None = None
    callback_url: str | None = Field(default=None, description="receives the job JSON once it is done or failed")
    batch_id: str | None = Field(default=None, description="the batch this job is an item of")


class BatchItem(BaseModel):
    """One file of a batch: its job, or the error that kept it from getting one (refused at submission)."""

    index: int = Field(ge=0, description="position in the upload")
    filename: str
    job_id: str | None = None
    error: ErrorInfo | None = None


class BatchState(BaseModel):
    """A batch as stored: its files in upload order. Progress is read from the items' jobs."""

    id: str
    created_at: float
    options: RenderOptions = Field(default_factory=RenderOptions)
    callback_url: str | None = Field(default=None, description="receives the batch JSON once every item finished")
    items: list[BatchItem]


class BatchCounts(BaseModel):
    queued: int = 0
    running: int = 0
    done: int = 0
    failed: int = Field(default=0, description="refused at submission or failed in a stage")


BatchStatus = Literal["queued", "running", "done"]


class BatchResultLine(BaseModel):
    """One line of a batch's JSON Lines results: a finished item, with the job's result or error."""

    index: int = Field(ge=0)
    filename: str
    job_id: str | None = None
    status: JobStatus = Field(description="done or failed")
    result: ImageResult | None = None
    error: ErrorInfo | None = None
