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
HEAD_LABELS: dict[str, tuple[str, ...]] = {
    "emotion": EMOTIONS,
    "eyewear": EYEWEAR,
    "mask": MASKS,
    "skin_tone": SKIN_TONES,
}
HEAD_NAMES: tuple[str, ...] = tuple(HEAD_LABELS)

# Tone a render may be asked for: "auto" uses the classifier's skin_tone, "yellow" the classic emoji face.
ToneChoice = Literal["auto", "yellow", "light", "medium_light", "medium", "medium_dark", "dark"]
ImageFormat = Literal["jpeg", "png", "webp", "bmp"]
RenderSet = Literal["all", "svg"]


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
    """One head's answer for one face: the top label and the probability of every label (sums to 1)."""

    label: str
    probabilities: dict[str, float]


class FaceAttributes(BaseModel):
    emotion: HeadOutput
    eyewear: HeadOutput
    mask: HeadOutput
    skin_tone: HeadOutput


class RenderOptions(BaseModel):
    """How an emoticon is drawn; independent of the models, so renders can be redone from attributes."""

    size: int = Field(default=256, ge=16, le=1024, description="PNG side in pixels")
    tone: ToneChoice = "auto"
    renders: RenderSet = Field(
        default="all",
        description="'all': SVG + PNG per face and the overlay; 'svg': SVG only (live video: rasters cost "
        "≈ 15 ms a face and 20 ms a face in the overlay)",
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


class JobStatus(str, Enum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class ErrorInfo(BaseModel):
    code: str = Field(description="stable machine-readable code, e.g. 'not_an_image'")
    message: str


class JobState(BaseModel):
    id: str
    status: JobStatus
    stage: Literal["detector", "classifier", "composer"] | None = None
    error: ErrorInfo | None = None
    created_at: float
    updated_at: float
    options: RenderOptions = Field(default_factory=RenderOptions)
    result: ImageResult | None = None
