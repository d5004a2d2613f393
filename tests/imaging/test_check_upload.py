"""check_upload, the gateway's check before queueing: it refuses what decode_image refuses (same error types and
codes) on broken, hostile and unsupported uploads, and accepts what decode_image accepts."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from services.errors import EmoticonError
from services.imaging import check_upload, decode_image
from services.settings import Settings
from tests.imaging.test_input_hygiene import hostile_uploads, png_of

FORMATS = ["JPEG", "PNG", "WEBP", "BMP"]


def encode(rgb: np.ndarray, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def astronaut_rgb(astronaut_bgr: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(astronaut_bgr[:, :, ::-1])


def refusal(check, data: bytes, settings: Settings) -> tuple[type, str, int] | None:
    """(error type, code, HTTP status) of what ``check`` raises on ``data``, None when it accepts it."""
    try:
        check(data, settings)
    except EmoticonError as exc:
        return type(exc), exc.code, exc.http_status
    return None


@pytest.mark.parametrize("fmt", FORMATS)
def test_whole_photos_are_accepted(astronaut_rgb: np.ndarray, settings: Settings, fmt: str) -> None:
    data = encode(astronaut_rgb, fmt)
    assert refusal(check_upload, data, settings) is None
    assert refusal(decode_image, data, settings) is None


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.99])
@pytest.mark.parametrize("fmt", FORMATS)
def test_truncated_files_are_refused_like_decode_image(
    astronaut_rgb: np.ndarray, settings: Settings, fmt: str, fraction: float
) -> None:
    data = encode(astronaut_rgb, fmt)
    cut = data[: int(len(data) * fraction)]
    expected = refusal(decode_image, cut, settings)
    assert expected is not None and expected[1] == "invalid_image"
    assert refusal(check_upload, cut, settings) == expected


def test_a_progressive_jpeg_cut_short_is_refused(astronaut_rgb: np.ndarray, settings: Settings) -> None:
    data = encode(astronaut_rgb, "JPEG", progressive=True)
    assert refusal(check_upload, data, settings) is None
    assert refusal(check_upload, data[: len(data) * 3 // 4], settings)[1] == "invalid_image"  # type: ignore[index]


def test_a_png_with_a_damaged_chunk_is_refused(astronaut_rgb: np.ndarray, settings: Settings) -> None:
    data = bytearray(encode(astronaut_rgb, "PNG"))
    data[200:260] = bytes(60)  # inside the first IDAT chunk: its CRC no longer matches
    assert refusal(check_upload, bytes(data), settings) == refusal(decode_image, bytes(data), settings)
    assert refusal(check_upload, bytes(data), settings)[1] == "invalid_image"  # type: ignore[index]


NOT_ACCEPTED = [
    ("empty", b""),
    ("text", b"hello, I am not a photo"),
    ("gif", b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + bytes(20)),
    ("tiff", b"II*\x00\x08\x00\x00\x00" + bytes(50)),
    ("png signature only", b"\x89PNG\r\n\x1a\n"),
    ("smaller than a face", png_of(12, 12)),
    ("30:1 strip", png_of(900, 30)),
    *hostile_uploads(),
]


@pytest.mark.parametrize(("what", "data"), NOT_ACCEPTED, ids=[what for what, _ in NOT_ACCEPTED])
def test_what_decode_image_refuses_from_the_header_is_refused_alike(
    settings: Settings, what: str, data: bytes
) -> None:
    expected = refusal(decode_image, data, settings)
    got = refusal(check_upload, data, settings)
    if what == "png with a broken body":
        # valid CRCs around a stream that is no deflate: only the full decode (the detector stage) finds it
        assert expected is not None and expected[1] == "invalid_image" and got is None
        return
    assert expected is not None
    assert got == expected, what


def test_the_byte_limit_is_checked(astronaut_rgb: np.ndarray, settings: Settings) -> None:
    data = encode(astronaut_rgb, "PNG")
    small = settings.model_copy(update={"max_upload_bytes": len(data) - 1})
    assert refusal(check_upload, data, small) == refusal(decode_image, data, small)
    assert refusal(check_upload, data, small)[1] == "payload_too_large"  # type: ignore[index]
