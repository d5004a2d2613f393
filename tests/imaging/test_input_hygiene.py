"""What decode_image refuses before decoding a pixel (too elongated, smaller than a face), and how it says so:
messages for people, our own limits, no Python reprs, no decoder jargon."""

from __future__ import annotations

import io
import re
import zlib

import numpy as np
import pytest
from PIL import Image

from services.errors import EmoticonError, ExtremeAspectRatio, ImageTooSmall, InvalidImage, PayloadTooLarge
from services.imaging import decode_image, decoded_nbytes
from services.settings import Settings

REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-fA-F]+>|0x[0-9a-fA-F]{6,}")


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")


def png_with_broken_body(width: int, height: int) -> bytes:
    """A valid PNG header of ``width`` x ``height`` RGB followed by pixel data that is not zlib at all."""
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", b"this is no deflate stream")
        + png_chunk(b"IEND", b"")
    )


def png_of(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), 128, np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def test_the_1x200000_png_with_a_broken_body_is_refused_for_its_shape(settings: Settings) -> None:
    with pytest.raises(ExtremeAspectRatio) as caught:
        decode_image(png_with_broken_body(1, 200_000), settings)
    assert caught.value.http_status == 422 and caught.value.code == "extreme_aspect_ratio"
    assert "1x200000" in caught.value.message and "20:1" in caught.value.message


@pytest.mark.parametrize(("width", "height"), [(2100, 100), (100, 2100), (1000, 40)])
def test_beyond_the_aspect_ratio_limit_is_refused(settings: Settings, width: int, height: int) -> None:
    with pytest.raises(ExtremeAspectRatio, match=f"{width}x{height}"):
        decode_image(png_of(width, height), settings)


def test_the_aspect_ratio_limit_itself_is_accepted_and_is_a_setting(settings: Settings) -> None:
    assert decode_image(png_of(2000, 100), settings).info.original_width == 2000
    with pytest.raises(ExtremeAspectRatio, match="5:1"):
        decode_image(png_of(600, 100), settings.model_copy(update={"max_aspect_ratio": 5}))


@pytest.mark.parametrize(("width", "height"), [(1, 1), (19, 300), (300, 19)])
def test_smaller_than_a_face_is_refused(settings: Settings, width: int, height: int) -> None:
    with pytest.raises(ImageTooSmall) as caught:
        decode_image(png_of(width, height), settings)
    assert caught.value.http_status == 422 and caught.value.code == "image_too_small"
    assert f"{settings.min_face_px} pixels" in caught.value.message


def test_the_smallest_face_size_is_accepted(settings: Settings) -> None:
    side = settings.min_face_px
    assert decode_image(png_of(side, side), settings).bgr.shape == (side, side, 3)


def hostile_uploads() -> list[tuple[str, bytes]]:
    header_only = b"\x89PNG\r\n\x1a\n" + bytes(30)
    bomb = io.BytesIO()
    Image.new("1", (15000, 12000)).save(bomb, "PNG")  # beyond Pillow's own ceiling
    return [
        ("png signature then zeros", header_only),
        ("jpeg magic then noise", b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8),
        ("webp riff without a body", b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(8)),
        ("bmp header only", b"BM" + bytes(12) + (40).to_bytes(4, "little") + bytes(10)),
        ("png with a broken body", png_with_broken_body(64, 64)),
        ("truncated png", png_of(64, 64)[:80]),
        ("pillow ceiling bomb", bomb.getvalue()),
        ("1x200000", png_with_broken_body(1, 200_000)),
    ]


@pytest.mark.parametrize(("what", "data"), hostile_uploads(), ids=[w for w, _ in hostile_uploads()])
def test_messages_are_for_people(settings: Settings, what: str, data: bytes) -> None:
    with pytest.raises(EmoticonError) as caught:
        decode_image(data, settings)
    message = caught.value.message
    assert isinstance(caught.value, (InvalidImage, PayloadTooLarge, ExtremeAspectRatio, ImageTooSmall)), what
    assert not REPR.search(message), message
    assert "BytesIO" not in message and "DOS attack" not in message and "Traceback" not in message
    if isinstance(caught.value, PayloadTooLarge):
        assert str(settings.max_pixels) in message  # our limit, not Pillow's
        assert "178956970" not in message


def test_decoded_size_is_read_from_the_header(settings: Settings) -> None:
    assert decoded_nbytes(png_of(640, 480), settings) == 640 * 480 * 3
    capped = settings.model_copy(update={"max_side": 320})
    assert decoded_nbytes(png_of(640, 480), capped) == 320 * 240 * 3
    assert decoded_nbytes(b"not an image", settings) == 0
