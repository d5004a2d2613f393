"""Upload bytes → one ``HxWx3 uint8 BGR`` array: the only place images are decoded and colour order is fixed.

What is accepted is decided by content, never by file name: JPEG, PNG (APNG: frame 0), WebP (animated: frame 0)
and BMP. Other real image types (GIF, TIFF, HEIF/AVIF, ...) are ``UnsupportedMediaType``; bytes that are no
image, or a broken one, are ``InvalidImage``; too many bytes or pixels are ``PayloadTooLarge``. GIF is refused
on purpose: ``ImageInfo.format`` only names the four accepted formats, and animated GIFs are mostly not photos.

The pixel count and the shape are checked from the header, before any pixel data is decoded, so a
decompression bomb costs nothing: more than ``settings.max_pixels`` is ``PayloadTooLarge``, a side below
``settings.min_face_px`` (no face we keep fits) is ``ImageTooSmall``, and one side more than
``settings.max_aspect_ratio`` times the other is ``ExtremeAspectRatio``. Messages are written for the person who
sent the file and quote our own limits; the decoder's own words (and object reprs) only go to the log. EXIF orientation is applied, transparency is composited on white, grey / palette / 16-bit / CMYK
inputs become 8-bit BGR, and the longest side is capped at ``settings.max_side`` (``INTER_AREA``). Embedded
ICC colour profiles are ignored (pixels are taken as sRGB).
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import ExifTags, Image, ImageFile, UnidentifiedImageError

from services.contracts import ImageFormat, ImageInfo
from services.errors import (
    EmoticonError,
    ExtremeAspectRatio,
    ImageTooSmall,
    InvalidImage,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from services.settings import Settings

log = logging.getLogger(__name__)

# Formats we decode, keyed by the name ``sniff_image_type`` returns, valued by Pillow's plugin name.
ACCEPTED_FORMATS: dict[str, str] = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "bmp": "BMP"}

# EXIF orientation → the transpose that makes the pixels upright (values 2-8; 1 means upright already).
_ORIENTATION_TRANSPOSE: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_SIDES = {5, 6, 7, 8}
_ISO_BMFF_IMAGE_BRANDS = {b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}


@dataclass(frozen=True)
class DecodedImage:
    """A decoded upload: ``bgr`` is ``HxWx3 uint8`` BGR, C-contiguous, upright, longest side ≤ ``max_side``."""

    bgr: np.ndarray
    info: ImageInfo


def sniff_image_type(data: bytes) -> str | None:
    """Name the image type from its first bytes (magic numbers), without decoding anything.

    Returns ``"jpeg"``, ``"png"``, ``"webp"`` or ``"bmp"`` for the accepted formats (keys of
    ``ACCEPTED_FORMATS``), another lower-case name (``"gif"``, ``"tiff"``, ``"heif"``, ``"avif"``, ``"ico"``,
    ``"psd"``, ``"jpeg2000"``, ``"jxl"``, ``"svg"``) for image types that are recognised but not accepted, and
    ``None`` for bytes that do not start like any image. The first 32 bytes are enough except for SVG (which
    is looked for in the first 1 KiB).
    """
    head = data[:32]
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:2] == b"BM" and len(head) >= 18:
        # BITMAPFILEHEADER (14 bytes) then a DIB header whose size is one of a few known values.
        dib_size = int.from_bytes(head[14:18], "little")
        if dib_size in (12, 16, 40, 52, 56, 64, 108, 124):
            return "bmp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[4:8] == b"ftyp" and head[8:12] in _ISO_BMFF_IMAGE_BRANDS:
        return "avif" if head[8:12] in (b"avif", b"avis") else "heif"
    if head[:4] == b"\x00\x00\x01\x00":
        return "ico"
    if head[:4] == b"8BPS":
        return "psd"
    if head.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n") or head[:4] == b"\xff\x4f\xff\x51":
        return "jpeg2000"
    if head[:2] == b"\xff\x0a" or head.startswith(b"\x00\x00\x00\x0cJXL \r\n\x87\n"):
        return "jxl"
    start = data[:1024].lstrip().lower()
    if start.startswith((b"<svg", b"<?xml")) and b"<svg" in start:
        return "svg"
    return None


def decode_image(data: bytes, settings: Settings) -> DecodedImage:
    """Decode upload bytes into an upright ``HxWx3 uint8`` BGR array with its ``ImageInfo``.

    Raises ``InvalidImage`` (empty, not an image, truncated or corrupt), ``UnsupportedMediaType`` (an image of
    a type other than JPEG/PNG/WebP/BMP), ``PayloadTooLarge`` (over ``settings.max_upload_bytes`` bytes or
    ``settings.max_pixels`` pixels), ``ImageTooSmall`` or ``ExtremeAspectRatio`` (the last three read from the
    header before decoding).
    """
    kind = _accepted_kind(data, settings)
    image = _open_checked(data, kind, settings)
    stored_width, stored_height = image.size
    if kind == "jpeg":
        _request_reduced_jpeg_decode(image, settings.max_side)
    try:
        # Pixels first: frame 0 of an animation; raises on truncated or corrupt data. Only then EXIF, since
        # Pillow's getexif() may itself load a PNG, and a failure swallowed there would leave garbage pixels.
        image.load()
        rgb = _to_rgb_array(image)
        orientation = _exif_orientation(image)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _undecodable(kind, exc) from exc
    finally:
        image.close()
    if orientation in _SWAPS_SIDES:
        original_width, original_height = stored_height, stored_width
    else:
        original_width, original_height = stored_width, stored_height

    bgr = rgb[:, :, ::-1]
    transpose = _ORIENTATION_TRANSPOSE.get(orientation)
    if transpose is not None:
        bgr = _transpose_array(bgr, transpose)
    bgr = _cap_longest_side(np.ascontiguousarray(bgr), settings.max_side)
    height, width = bgr.shape[:2]
    format_name: ImageFormat = kind  # type: ignore[assignment]  # kind is one of ACCEPTED_FORMATS here
    info = ImageInfo(
        width=width,
        height=height,
        format=format_name,
        original_width=original_width,
        original_height=original_height,
        sha256=hashlib.sha256(data).hexdigest(),
    )
    return DecodedImage(bgr=bgr, info=info)


def check_upload(data: bytes, settings: Settings) -> None:
    """Refuse, before queueing, what ``decode_image`` would refuse, at a fraction of its cost (the gateway's
    check; the detector stage decodes in full).

    Raises the same typed errors for the same reasons: the type by content, the byte limit, the header's size and
    shape, and a truncated or corrupt file, which is found without decoding the pixels at full size: a JPEG is
    decoded at 1/8 scale (libjpeg still reads every entropy-coded byte), a PNG's chunks are read to ``IEND`` with
    their CRCs checked (no inflate), a WebP's container is parsed whole by the demuxer, a BMP (raw pixels) is
    loaded. A file that passes and still fails to decode in full (e.g. a PNG whose zlib stream is broken under
    valid CRCs) fails its job with ``invalid_image`` in the detector stage."""
    kind = _accepted_kind(data, settings)
    image = _open_checked(data, kind, settings)
    try:
        if kind == "jpeg":
            image.draft(None, (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()
        elif kind == "png":
            image.verify()
        elif kind == "bmp":
            image.load()
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _undecodable(kind, exc) from exc
    finally:
        image.close()


def _undecodable(kind: str, exc: Exception) -> InvalidImage:
    """The error for an upload of ``kind`` whose pixel data does not decode (logged once, here)."""
    log.info("undecodable %s upload: %s", kind, exc)
    return InvalidImage(f"the {kind} file is truncated or corrupt: its pixel data cannot be decoded")


def _accepted_kind(data: bytes, settings: Settings) -> str:
    """The sniffed type of an upload within the byte limit, one of ``ACCEPTED_FORMATS``, or the typed error."""
    if not data:
        raise InvalidImage("the upload is empty (0 bytes)")
    if len(data) > settings.max_upload_bytes:
        raise PayloadTooLarge(f"the upload has {len(data)} bytes; the limit is {settings.max_upload_bytes}")
    kind = sniff_image_type(data)
    if kind is None:
        raise InvalidImage("not an image: the bytes do not start like a JPEG, PNG, WebP or BMP file")
    if kind not in ACCEPTED_FORMATS:
        raise UnsupportedMediaType(f"{kind} images are not accepted; send JPEG, PNG, WebP or BMP")
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # A process-wide Pillow switch someone else turned on: truncated files would then decode silently.
        log.warning("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is on: truncated uploads are not detected")
    return kind


def _open_checked(data: bytes, kind: str, settings: Settings) -> Image.Image:
    """The image opened lazily (header only) once its size and shape pass ``check_image_shape``."""
    image = _open_lazily(data, kind, settings.max_pixels)
    try:
        check_image_shape(image.width, image.height, settings)
    except EmoticonError:
        image.close()
        raise
    return image


def check_image_shape(width: int, height: int, settings: Settings) -> None:
    """Refuse, from the header's size, what cannot be analysed: too many pixels (``PayloadTooLarge``), a shape
    more elongated than ``settings.max_aspect_ratio`` (``ExtremeAspectRatio``), a side shorter than
    ``settings.min_face_px`` (``ImageTooSmall``)."""
    pixels = width * height
    if pixels > settings.max_pixels:
        raise PayloadTooLarge(
            f"the image is {width}x{height} = {pixels} pixels; the limit is {settings.max_pixels}"
        )
    short, long = min(width, height), max(width, height)
    if long > settings.max_aspect_ratio * short:
        raise ExtremeAspectRatio(
            f"the image is {width}x{height} pixels, {long / short:.0f} times longer one way than the other; "
            f"the limit is {settings.max_aspect_ratio:g}:1"
        )
    if short < settings.min_face_px:
        raise ImageTooSmall(
            f"the image is {width}x{height} pixels: too small to hold a face; both sides need at least "
            f"{settings.min_face_px} pixels"
        )


def decoded_nbytes(data: bytes, settings: Settings) -> int:
    """The size in bytes of the ``HxWx3 uint8`` array ``decode_image`` makes of ``data`` (longest side capped at
    ``settings.max_side``), read from the header only; 0 when the header cannot be read."""
    kind = sniff_image_type(data)
    if kind not in ACCEPTED_FORMATS:
        return 0
    try:
        image = _open_lazily(data, kind, settings.max_pixels)
    except EmoticonError:
        return 0
    width, height = image.size
    image.close()
    scale = min(1.0, settings.max_side / max(width, height))
    return max(1, round(width * scale)) * max(1, round(height * scale)) * 3


def _open_lazily(data: bytes, kind: str, max_pixels: int) -> Image.Image:
    """``Image.open`` reads only the header; restricted to the sniffed format's plugin."""
    try:
        image = Image.open(io.BytesIO(data), formats=[ACCEPTED_FORMATS[kind]])
    except Image.DecompressionBombError as exc:
        # Pillow's own ceiling (about 179 Mpx by default) fired while reading the header.
        raise PayloadTooLarge(f"the image has more pixels than allowed; the limit is {max_pixels}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        log.info("unreadable %s header: %s", kind, exc)
        raise InvalidImage(
            f"the {kind} header cannot be read: the file is damaged or not really a {kind}"
        ) from exc
    if image.width <= 0 or image.height <= 0:
        image.close()
        raise InvalidImage(f"the {kind} header gives an empty size {image.width}x{image.height}")
    return image


def _exif_orientation(image: Image.Image) -> int:
    """The EXIF orientation tag (1-8), 1 when absent or unreadable."""
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception as exc:  # noqa: BLE001 - malformed EXIF must not reject an otherwise good photo
        log.info("ignoring unreadable EXIF: %s", exc)
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _request_reduced_jpeg_decode(image: Image.Image, max_side: int) -> None:
    """Let libjpeg decode big JPEGs at 1/2, 1/4 or 1/8 scale, never below ``max_side`` on the longest side.

    The result is resized with ``INTER_AREA`` afterwards anyway; this only skips decoding pixels that would be
    averaged away (a 24 Mpx photo decodes about 4x faster).
    """
    width, height = image.size
    longest = max(width, height)
    if longest <= 2 * max_side:
        return
    scale = max_side / longest
    image.draft(None, (max(1, int(np.ceil(width * scale))), max(1, int(np.ceil(height * scale)))))


def _to_rgb_array(image: Image.Image) -> np.ndarray:
    """Any Pillow mode → ``HxWx3 uint8`` RGB; transparency is composited on white."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit grey: Pillow's convert("L") clips at 255 instead of scaling, so scale here.
        grey16 = np.asarray(image).astype(np.float32)
        grey = np.clip(np.rint(grey16 / 257.0), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode == "F":
        grey = np.clip(np.rint(np.asarray(image)), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if has_alpha:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32)
        alpha = rgba[:, :, 3:4] / 255.0
        rgb = rgba[:, :, :3] * alpha + 255.0 * (1.0 - alpha)
        return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    if mode != "RGB":
        image = image.convert("RGB")  # L, 1, P, CMYK (Adobe inversion handled by Pillow), YCbCr, LAB...
    return np.asarray(image, dtype=np.uint8)


def _transpose_array(array: np.ndarray, transpose: Image.Transpose) -> np.ndarray:
    """Apply a PIL transpose to an ``HxWxC`` array (views; made contiguous by the caller)."""
    if transpose == Image.Transpose.FLIP_LEFT_RIGHT:
        return array[:, ::-1]
    if transpose == Image.Transpose.FLIP_TOP_BOTTOM:
        return array[::-1]
    if transpose == Image.Transpose.ROTATE_180:
        return array[::-1, ::-1]
    if transpose == Image.Transpose.ROTATE_90:  # counter-clockwise
        return np.rot90(array, 1)
    if transpose == Image.Transpose.ROTATE_270:  # clockwise
        return np.rot90(array, -1)
    if transpose == Image.Transpose.TRANSPOSE:  # mirror about the main diagonal
        return array.transpose(1, 0, 2)
    if transpose == Image.Transpose.TRANSVERSE:  # mirror about the anti-diagonal
        return np.rot90(array, 2).transpose(1, 0, 2)
    raise ValueError(f"unknown transpose {transpose}")


def _cap_longest_side(bgr: np.ndarray, max_side: int) -> np.ndarray:
    height, width = bgr.shape[:2]
    longest = max(height, width)
    if longest <= max_side:
        return bgr
    scale = max_side / longest
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.ascontiguousarray(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA))
