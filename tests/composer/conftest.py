"""Fixtures for the composer tests: a builder of FaceAttributes from labels, and PNG decoding."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest

from services.contracts import (
    EMOTIONS,
    EYEWEAR,
    FRAME_SHAPES,
    MASKS,
    SKIN_TONES,
    TONE_UNKNOWN,
    FaceAttributes,
    HeadOutput,
)

FaceBuilder = Callable[..., FaceAttributes]

# What the classifier gives with the label "unknown": all five tones still have a probability. Most is on "dark",
# so a render that followed the probabilities instead of the label would show it.
UNKNOWN_TONE_PROBABILITIES = {
    "light": 0.05,
    "medium_light": 0.05,
    "medium": 0.1,
    "medium_dark": 0.2,
    "dark": 0.6,
}


def _head(labels: tuple[str, ...], probabilities: dict[str, float]) -> HeadOutput:
    unknown = set(probabilities) - set(labels)
    assert not unknown, f"labels outside the vocabulary: {unknown}"
    full = {name: float(probabilities.get(name, 0.0)) for name in labels}
    return HeadOutput(label=max(full, key=full.__getitem__), probabilities=full)


def build_face(
    emotion: str | dict[str, float] = "neutral",
    eyewear: str = "none",
    mask: str = "none",
    skin_tone: str = "medium",
    frame: str | None = None,
) -> FaceAttributes:
    """FaceAttributes with one-hot heads; ``emotion`` may be a label or a probability dict (missing labels 0).
    ``skin_tone="unknown"`` gives the label "unknown" with UNKNOWN_TONE_PROBABILITIES. ``frame`` (one of
    FRAME_SHAPES) adds a frame output; None (the default) leaves it absent, as the classifier does by default."""
    emotions = {emotion: 1.0} if isinstance(emotion, str) else emotion
    if skin_tone == TONE_UNKNOWN:
        tone_head = HeadOutput(label=TONE_UNKNOWN, probabilities=dict(UNKNOWN_TONE_PROBABILITIES))
    else:
        tone_head = _head(SKIN_TONES, {skin_tone: 1.0})
    return FaceAttributes(
        emotion=_head(EMOTIONS, emotions),
        eyewear=_head(EYEWEAR, {eyewear: 1.0}),
        mask=_head(MASKS, {mask: 1.0}),
        skin_tone=tone_head,
        frame=_head(FRAME_SHAPES, {frame: 1.0}) if frame is not None else None,
    )


@pytest.fixture(scope="session")
def make_face() -> FaceBuilder:
    return build_face


def decode_png(png: bytes) -> np.ndarray:
    """PNG bytes -> HxWxC uint8 as stored (BGRA for the emoticons, BGR for the overlay)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    image = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    assert image is not None, "PNG does not decode"
    return image


@pytest.fixture(scope="session")
def png_pixels() -> Callable[[bytes], np.ndarray]:
    return decode_png
