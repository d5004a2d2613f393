"""sniff_image_type names real encoded images from their first bytes, and nothing else."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from services.imaging import ACCEPTED_FORMATS, sniff_image_type


@pytest.fixture(scope="module")
def photo(astronaut_bgr: np.ndarray) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(astronaut_bgr[:128, :160, ::-1]))


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("JPEG", "jpeg"),
        ("PNG", "png"),
        ("WEBP", "webp"),
        ("BMP", "bmp"),
        ("GIF", "gif"),
        ("TIFF", "tiff"),
        ("ICO", "ico"),
        ("JPEG2000", "jpeg2000"),
    ],
)
def test_pillow_encodings_are_named(photo, fmt, expected):
    buffer = io.BytesIO()
    photo.save(buffer, fmt)
    assert sniff_image_type(buffer.getvalue()) == expected


@pytest.mark.parametrize(
    ("suffix", "expected"), [(".jpg", "jpeg"), (".png", "png"), (".bmp", "bmp"), (".tif", "tiff")]
)
def test_opencv_encodings_are_named(astronaut_bgr, suffix, expected):
    ok, encoded = cv2.imencode(suffix, astronaut_bgr)
    assert ok
    assert sniff_image_type(encoded.tobytes()) == expected


def test_only_the_head_is_needed(astronaut_jpeg):
    assert sniff_image_type(astronaut_jpeg[:32]) == "jpeg"


def test_accepted_names_are_the_decodable_formats():
    assert set(ACCEPTED_FORMATS) == {"jpeg", "png", "webp", "bmp"}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", None),
        (b"hello world\n" * 10, None),
        (b"BM but not a bitmap header at all", None),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),  # a RIFF file that is audio
        (b"\x00\x00\x00\x1cftypheic\x00\x00\x00\x00", "heif"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00", "avif"),
        (b"\x00\x00\x00\x1cftypisom\x00\x00\x00\x00", None),  # an MP4 video
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "svg"),
        (b"<?xml version='1.0'?><note>not svg</note>", None),
        (b"%PDF-1.7\n", None),
    ],
)
def test_other_bytes(data, expected):
    assert sniff_image_type(data) == expected
