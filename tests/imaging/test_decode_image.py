"""decode_image on real photos encoded every way an upload can arrive, and on broken or hostile bytes."""

from __future__ import annotations

import hashlib
import io
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from services.errors import InvalidImage, PayloadTooLarge, UnsupportedMediaType
from services.imaging import DecodedImage, decode_image


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def astronaut_rgb(astronaut_bgr: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(astronaut_bgr[:, :, ::-1])


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def assert_bgr_contract(decoded: DecodedImage) -> None:
    bgr = decoded.bgr
    assert bgr.ndim == 3 and bgr.shape[2] == 3
    assert bgr.dtype == np.uint8
    assert bgr.flags.c_contiguous
    assert (decoded.info.height, decoded.info.width) == bgr.shape[:2]


@pytest.mark.parametrize(
    ("fmt", "options", "name", "tolerance"),
    [
        ("JPEG", {"quality": 92}, "jpeg", 4.0),
        ("PNG", {}, "png", 0.0),
        ("WEBP", {"quality": 90}, "webp", 4.0),
        ("WEBP", {"lossless": True}, "webp", 0.0),
        ("BMP", {}, "bmp", 0.0),
    ],
)
def test_each_accepted_format_decodes_to_the_photo_in_bgr(
    astronaut_rgb, astronaut_bgr, settings, fmt, options, name, tolerance
):
    data = encode(Image.fromarray(astronaut_rgb), fmt, **options)
    decoded = decode_image(data, settings)
    assert_bgr_contract(decoded)
    assert decoded.info.format == name
    assert decoded.info.sha256 == hashlib.sha256(data).hexdigest()
    assert (decoded.info.original_width, decoded.info.original_height) == (512, 512)
    assert mean_abs_diff(decoded.bgr, astronaut_bgr) <= tolerance
    # Colour order: the astronaut's suit is mostly white, the flag behind her is red; the BGR red channel
    # must match the RGB red channel, which a swapped order would not.
    assert mean_abs_diff(decoded.bgr[:, :, 2], astronaut_rgb[:, :, 0]) <= tolerance + 1


def test_type_is_taken_from_content_not_from_a_name(astronaut_rgb, settings):
    # The gateway never passes a name; a PNG is a PNG whatever the client called it.
    assert decode_image(encode(Image.fromarray(astronaut_rgb), "PNG"), settings).info.format == "png"


@pytest.mark.parametrize("orientation", [2, 3, 4, 5, 6, 7, 8])
def test_exif_orientation_is_applied_like_pillows_reference(astronaut_rgb, settings, orientation):
    photo = Image.fromarray(astronaut_rgb[:, :384])  # not square, so a rotation shows in the shape
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(photo, "JPEG", quality=95, exif=exif.tobytes())
    reference = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))

    decoded = decode_image(data, settings)
    assert_bgr_contract(decoded)
    assert decoded.bgr.shape[:2] == reference.shape[:2]
    assert mean_abs_diff(decoded.bgr[:, :, ::-1], reference) < 0.5
    swapped = orientation in (5, 6, 7, 8)
    assert (decoded.info.original_width, decoded.info.original_height) == (
        (512, 384) if swapped else (384, 512)
    )


def test_orientation_6_means_turn_clockwise(astronaut_rgb, settings):
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(Image.fromarray(astronaut_rgb[:, :384]), "PNG", exif=exif.tobytes())
    decoded = decode_image(data, settings)
    upright = np.rot90(astronaut_rgb[:, :384], -1)  # clockwise
    assert mean_abs_diff(decoded.bgr[:, :, ::-1], upright) == 0.0


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_transparency_is_composited_on_white(astronaut_rgb, settings, fmt):
    alpha = np.full(astronaut_rgb.shape[:2], 255, np.uint8)
    alpha[:, :256] = 0
    alpha[:, 256:300] = 128
    rgba = np.dstack([astronaut_rgb, alpha])
    options = {"lossless": True} if fmt == "WEBP" else {}
    decoded = decode_image(encode(Image.fromarray(rgba, "RGBA"), fmt, **options), settings)
    assert_bgr_contract(decoded)
    assert decoded.bgr[:, :256].min() == 255
    assert mean_abs_diff(decoded.bgr[:, 300:, ::-1], astronaut_rgb[:, 300:]) == 0.0
    half = (astronaut_rgb[:, 256:300].astype(np.float32) * 128 / 255 + 255 * 127 / 255).round()
    assert np.abs(decoded.bgr[:, 256:300, ::-1].astype(np.float32) - half).max() <= 1


def test_palette_transparency_is_composited_on_white(astronaut_rgb, settings):
    palette = Image.fromarray(astronaut_rgb).quantize(64)
    index = np.asarray(palette)[0, 0]
    data = encode(palette, "PNG", transparency=int(index))
    decoded = decode_image(data, settings)
    transparent = np.asarray(palette) == index
    assert decoded.bgr[transparent].min() == 255
    opaque_rgb = np.asarray(palette.convert("RGB"))
    assert mean_abs_diff(decoded.bgr[~transparent][:, ::-1], opaque_rgb[~transparent]) == 0.0


def test_grayscale_becomes_three_equal_channels(astronaut_rgb, settings):
    grey = np.asarray(Image.fromarray(astronaut_rgb).convert("L"))
    decoded = decode_image(encode(Image.fromarray(grey, "L"), "PNG"), settings)
    assert_bgr_contract(decoded)
    for channel in range(3):
        assert np.array_equal(decoded.bgr[:, :, channel], grey)


def test_palette_png_keeps_its_colours(astronaut_rgb, settings):
    palette = Image.fromarray(astronaut_rgb).quantize(32)
    decoded = decode_image(encode(palette, "PNG"), settings)
    assert mean_abs_diff(decoded.bgr[:, :, ::-1], np.asarray(palette.convert("RGB"))) == 0.0
    assert mean_abs_diff(decoded.bgr[:, :, ::-1], astronaut_rgb) < 12  # still the photo


def test_one_bit_bmp(astronaut_rgb, settings):
    bilevel = Image.fromarray(astronaut_rgb).convert("1")
    decoded = decode_image(encode(bilevel, "BMP"), settings)
    assert set(np.unique(decoded.bgr)) <= {0, 255}
    assert np.array_equal(decoded.bgr[:, :, 0] > 0, np.asarray(bilevel))


def test_cmyk_jpeg_converts_back_to_the_photo(astronaut_rgb, astronaut_bgr, settings):
    data = encode(Image.fromarray(astronaut_rgb).convert("CMYK"), "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    decoded = decode_image(data, settings)
    assert_bgr_contract(decoded)
    assert mean_abs_diff(decoded.bgr, astronaut_bgr) < 4


def test_sixteen_bit_grey_png_is_scaled_not_clipped(astronaut_rgb, settings):
    grey8 = np.asarray(Image.fromarray(astronaut_rgb).convert("L"))
    grey16 = grey8.astype(np.uint16) * 257
    ok, png = cv2.imencode(".png", grey16)
    assert ok
    assert Image.open(io.BytesIO(png.tobytes())).mode.startswith("I")
    decoded = decode_image(png.tobytes(), settings)
    assert np.array_equal(decoded.bgr[:, :, 1], grey8)


@pytest.mark.parametrize("with_alpha", [False, True])
def test_sixteen_bit_colour_png(astronaut_bgr, settings, with_alpha):
    image16 = astronaut_bgr.astype(np.uint16) * 257
    if with_alpha:
        image16 = np.dstack([image16, np.full(astronaut_bgr.shape[:2], 65535, np.uint16)])
    ok, png = cv2.imencode(".png", image16)
    assert ok
    decoded = decode_image(png.tobytes(), settings)
    assert mean_abs_diff(decoded.bgr, astronaut_bgr) < 0.01


@pytest.mark.parametrize("fmt", ["WEBP", "PNG"])  # animated WebP, APNG
def test_animations_give_their_first_frame(astronaut_rgb, settings, fmt):
    frames = [Image.fromarray(astronaut_rgb), Image.fromarray(255 - astronaut_rgb)]
    options = {"lossless": True} if fmt == "WEBP" else {}
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, **options)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 2
    decoded = decode_image(data, settings)
    assert mean_abs_diff(decoded.bgr[:, :, ::-1], astronaut_rgb) == 0.0


def test_gif_even_animated_is_unsupported(astronaut_rgb, settings):
    frames = [Image.fromarray(astronaut_rgb), Image.fromarray(255 - astronaut_rgb)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    with pytest.raises(UnsupportedMediaType, match="gif"):
        decode_image(data, settings)


def test_tiff_is_unsupported(astronaut_rgb, settings):
    with pytest.raises(UnsupportedMediaType) as caught:
        decode_image(encode(Image.fromarray(astronaut_rgb), "TIFF"), settings)
    assert caught.value.http_status == 415


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.99])
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_truncated_files_are_invalid(astronaut_rgb, settings, fmt, fraction):
    data = encode(Image.fromarray(astronaut_rgb), fmt)
    with pytest.raises(InvalidImage):
        decode_image(data[: int(len(data) * fraction)], settings)


def test_corrupt_png_pixel_data_is_invalid(astronaut_rgb, settings):
    data = bytearray(encode(Image.fromarray(astronaut_rgb), "PNG"))
    data[200:260] = bytes(60)  # inside the first IDAT chunk
    with pytest.raises(InvalidImage, match="corrupt"):
        decode_image(bytes(data), settings)


def test_jpeg_magic_followed_by_noise_is_invalid(settings):
    noise = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    with pytest.raises(InvalidImage) as caught:
        decode_image(b"\xff\xd8\xff\xe0" + noise, settings)
    assert caught.value.http_status == 400


@pytest.mark.parametrize(
    "data",
    [b"", b"hello, this is a text file and not a photo\n" * 20, b'{"image": "base64..."}', b"\x00" * 1000],
    ids=["empty", "text", "json", "zeros"],
)
def test_not_an_image_is_invalid(settings, data):
    with pytest.raises(InvalidImage) as caught:
        decode_image(data, settings)
    assert caught.value.code == "invalid_image"
    assert caught.value.message


def test_decompression_bomb_beyond_pillows_ceiling(settings):
    data = encode(Image.new("1", (15000, 12000)), "PNG")  # 180 Mpx in about 20 kB
    assert len(data) < 100_000
    with pytest.raises(PayloadTooLarge):
        decode_image(data, settings)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")


def test_forged_png_header_claiming_50000_squared_pixels(settings):
    """What an attacker sends: a valid header claiming 2.5 Gpx, a few bytes of pixel data."""
    header = (50000).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])  # 8-bit RGB
    data = (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(bytes(1000)))
        + png_chunk(b"IEND", b"")
    )
    with pytest.raises(PayloadTooLarge):
        decode_image(data, settings)
    with pytest.raises(PayloadTooLarge, match="50000x50000"):  # our own check, under a raised Pillow ceiling
        original = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            decode_image(data, settings)
        finally:
            Image.MAX_IMAGE_PIXELS = original


def test_pixel_limit_is_checked_before_decoding(settings):
    data = encode(Image.new("1", (8000, 6000)), "PNG")  # 48 Mpx > 40 Mpx default, under Pillow's ceiling
    assert 8000 * 6000 > settings.max_pixels
    with pytest.raises(PayloadTooLarge, match="8000x6000"):
        decode_image(data, settings)


def test_pixel_limit_boundary(astronaut_rgb, settings):
    data = encode(Image.fromarray(astronaut_rgb), "PNG")
    decode_image(data, settings.model_copy(update={"max_pixels": 512 * 512}))
    with pytest.raises(PayloadTooLarge) as caught:
        decode_image(data, settings.model_copy(update={"max_pixels": 512 * 512 - 1}))
    assert caught.value.http_status == 413


def test_byte_limit_boundary(astronaut_jpeg, settings):
    decode_image(astronaut_jpeg, settings.model_copy(update={"max_upload_bytes": len(astronaut_jpeg)}))
    with pytest.raises(PayloadTooLarge):
        decode_image(
            astronaut_jpeg, settings.model_copy(update={"max_upload_bytes": len(astronaut_jpeg) - 1})
        )


def test_longest_side_is_capped_with_area_resampling(astronaut_bgr, settings):
    portrait = np.ascontiguousarray(astronaut_bgr[:, :320])  # 512 high, 320 wide
    data = encode(Image.fromarray(portrait[:, :, ::-1]), "PNG")
    decoded = decode_image(data, settings.model_copy(update={"max_side": 256}))
    assert_bgr_contract(decoded)
    assert decoded.bgr.shape[:2] == (256, 160)
    assert (decoded.info.width, decoded.info.height) == (160, 256)
    assert (decoded.info.original_width, decoded.info.original_height) == (320, 512)
    expected = cv2.resize(portrait, (160, 256), interpolation=cv2.INTER_AREA)
    assert mean_abs_diff(decoded.bgr, expected) < 0.5


def test_small_images_are_not_upscaled(astronaut_bgr, settings):
    data = encode(Image.fromarray(astronaut_bgr[:100, :80, ::-1]), "PNG")
    decoded = decode_image(data, settings)
    assert decoded.bgr.shape[:2] == (100, 80)


def test_big_jpeg_decodes_reduced_but_matches_a_full_decode(astronaut_rgb, settings):
    # 4096x3072: libjpeg may decode at 1/2 scale; the result must still look like decode-then-resize.
    big = np.tile(astronaut_rgb, (6, 8, 1))
    data = encode(Image.fromarray(big), "JPEG", quality=90)
    decoded = decode_image(data, settings.model_copy(update={"max_side": 1024}))
    assert decoded.bgr.shape[:2] == (768, 1024)
    assert (decoded.info.original_width, decoded.info.original_height) == (4096, 3072)
    full = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))[:, :, ::-1]
    expected = cv2.resize(full, (1024, 768), interpolation=cv2.INTER_AREA)
    assert mean_abs_diff(decoded.bgr, expected) < 3


def test_decoded_image_is_frozen(astronaut_jpeg, settings):
    decoded = decode_image(astronaut_jpeg, settings)
    with pytest.raises(AttributeError):
        decoded.bgr = np.zeros((1, 1, 3), np.uint8)  # type: ignore[misc]
