"""SVG -> pixels with Skia, pixels <-> PNG bytes: the one place the composer rasterises.

``render_png`` rasterises exactly the document ``render_svg`` returns, so the SVG and PNG outputs are one drawing.
Skia (skia-python, its SVG module) draws into pixel buffers we own, so nothing is PNG-encoded that is not sent:
``paint_svgs`` draws every emoticon of an overlay straight onto the photo in one pass and only the finished
image is encoded. resvg, used before, returned PNG bytes only; its PNG encoder was most of a 256 px render's
~15 ms, and each overlay sticker was encoded and decoded again (``bench/bench_composer.py`` compares both).

PNGs are written at zlib level 1: emoticons (flat colours) without row filters, which is both faster and smaller
for them than filtering; photos (the overlay) with the Up filter and zlib's run-length strategy (see
``_PNG_PARAMS``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import cv2
import numpy as np
import skia

from services.contracts import FaceAttributes, RenderOptions
from services.errors import InvalidRequest

from .drawing import render_svg

MIN_PNG_SIDE = 16
MAX_PNG_SIDE = 1024

PngContent = Literal["drawing", "photo"]
# zlib level 1 for both. Drawings (flat colours): no row filter. Photos (the overlay): the Up filter with zlib's
# run-length strategy; on scikit-image's astronaut, coffee, chelsea and rocket that encodes in 0.68-0.82x the
# time of the Sub filter with the default strategy, in files 4-16 % smaller (chelsea's 1 % larger), measured in
# one run (the overlay of bench_service's 10-face photo: 20.8 → 15.8 ms, 861 → 746 kB).
_PNG_PARAMS: dict[PngContent, list[int]] = {
    "drawing": [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_NONE],
    "photo": [
        cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP,
        cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE,
    ],
}


def _svg_document(svg: str) -> skia.SVGDOM:
    data = svg.encode()
    document = skia.SVGDOM.MakeFromStream(skia.MemoryStream(data, True))  # True: Skia copies the bytes
    if document is None:
        raise InvalidRequest("not a drawable SVG document")
    return document


def _draw(canvas: skia.Canvas, svg: str, left: int, top: int, width: int, height: int) -> None:
    """Draw ``svg`` scaled to ``width`` x ``height`` px with its top-left at (left, top), clipped to that box."""
    document = _svg_document(svg)
    intrinsic = document.containerSize()  # the root's width/height; 0 x 0 when it has none
    canvas.save()
    canvas.clipRect(skia.Rect.MakeXYWH(left, top, width, height))
    canvas.translate(left, top)
    if intrinsic.width() > 0 and intrinsic.height() > 0:
        canvas.scale(width / intrinsic.width(), height / intrinsic.height())
    else:
        document.setContainerSize(skia.Size(width, height))
    document.render(canvas)
    canvas.restore()


def _bgra_surface(pixels: np.ndarray) -> skia.Surface:
    """A Skia surface drawing into ``pixels`` (HxWx4 uint8 BGRA, premultiplied, C-contiguous) in place. The
    surface does not keep ``pixels`` alive: the caller holds a reference for as long as it draws."""
    height, width = pixels.shape[:2]
    info = skia.ImageInfo.Make(width, height, skia.kBGRA_8888_ColorType, skia.kPremul_AlphaType)
    surface = skia.Surface.MakeRasterDirect(info, pixels, pixels.strides[0])
    if surface is None:
        raise InvalidRequest(f"cannot draw into a {width}x{height} px image")
    return surface


def svg_to_bgra(svg: str, width: int, height: int | None = None) -> np.ndarray:
    """An SVG document -> ``height x width x 4 uint8 BGRA`` (straight alpha, transparent background); square
    when ``height`` is omitted."""
    height = width if height is None else height
    if width < 1 or height < 1:
        raise InvalidRequest(f"cannot rasterise to {width}x{height} px")
    pixels = np.zeros((height, width, 4), dtype=np.uint8)  # referenced here while Skia draws into it
    surface = _bgra_surface(pixels)
    _draw(surface.getCanvas(), svg, 0, 0, width, height)
    straight = np.empty_like(pixels)
    unpremultiplied = skia.ImageInfo.Make(width, height, skia.kBGRA_8888_ColorType, skia.kUnpremul_AlphaType)
    if not surface.readPixels(unpremultiplied, straight):
        raise InvalidRequest(f"cannot read back a {width}x{height} px drawing")
    del surface
    return straight


def paint_svgs(image_bgr: np.ndarray, placements: Iterable[tuple[str, int, int, int]]) -> np.ndarray:
    """A copy of the photo (``HxWx3 uint8 BGR``) with each ``(svg, left, top, side)`` drawn over it, in order, as a
    ``side`` px square at (left, top) in image px (clipped at the image edge) -> ``HxWx3 uint8 BGR``.

    One canvas for all of them: each SVG is painted straight onto the photo (source-over), at any size."""
    canvas = np.ascontiguousarray(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2BGRA))  # opaque: premultiplied = straight
    surface = _bgra_surface(canvas)
    for svg, left, top, side in placements:
        _draw(surface.getCanvas(), svg, left, top, side, side)
    del surface
    return cv2.cvtColor(canvas, cv2.COLOR_BGRA2BGR)


def rasterise_svg(svg: str, width: int, height: int | None = None) -> bytes:
    """An SVG document -> PNG bytes (RGBA, transparent background) of ``width`` x ``height`` px (square if omitted)."""
    return encode_png(svg_to_bgra(svg, width, height))


def png_to_bgra(png: bytes) -> np.ndarray:
    """PNG bytes -> ``HxWx4 uint8 BGRA`` (alpha added as 255 when the PNG has none)."""
    image = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise InvalidRequest("not a decodable PNG")
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGRA)
    elif image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    return image


def encode_png(image: np.ndarray, content: PngContent = "drawing") -> bytes:
    """``HxWx3 BGR`` or ``HxWx4 BGRA`` uint8 -> PNG bytes; ``content`` picks the row filter ("drawing": flat
    colours, no row filter; "photo": the Up filter, run-length zlib)."""
    ok, buffer = cv2.imencode(".png", image, _PNG_PARAMS[content])
    if not ok:
        raise InvalidRequest("PNG encoding failed")
    return buffer.tobytes()


def render_png(attrs: FaceAttributes, options: RenderOptions) -> bytes:
    """A face's attributes -> its emoticon as PNG bytes, ``options.size`` x ``options.size`` px (16..1024), RGBA
    with a transparent background; rasterised from ``render_svg(attrs, options)``."""
    if not MIN_PNG_SIDE <= options.size <= MAX_PNG_SIDE:
        raise InvalidRequest(f"size must be {MIN_PNG_SIDE}..{MAX_PNG_SIDE} px, got {options.size}")
    return rasterise_svg(render_svg(attrs, options), options.size)
