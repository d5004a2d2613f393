"""Fixtures for the composer tests: a builder of FaceAttributes from labels, and PNG decoding."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest

from services.contracts import EMOTIONS, EYEWEAR, MASKS, SKIN_TONES, FaceAttributes, HeadOutput

FaceBuilder = Callable[..., FaceAttributes]


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
) -> FaceAttributes:
    """FaceAttributes with one-hot heads; ``emotion`` may be a label or a probability dict (missing labels 0)."""
    emotions = {emotion: 1.0} if isinstance(emotion, str) else emotion
    return FaceAttributes(
        emotion=_head(EMOTIONS, emotions),
        eyewear=_head(EYEWEAR, {eyewear: 1.0}),
        mask=_head(MASKS, {mask: 1.0}),
        skin_tone=_head(SKIN_TONES, {skin_tone: 1.0}),
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
