"""SVG -> PNG with resvg, and PNG bytes -> pixel arrays: the one place the composer rasterises.

``render_png`` rasterises exactly the document ``render_svg`` returns, so the SVG and PNG outputs are one drawing.
System fonts are never loaded (the emoticon has no text), which keeps a 256 px render to a few milliseconds.
"""

from __future__ import annotations

import cv2
import numpy as np
import resvg_py

from services.contracts import FaceAttributes, RenderOptions
from services.errors import InvalidRequest

from .drawing import render_svg

MIN_PNG_SIDE = 16
MAX_PNG_SIDE = 1024


def rasterise_svg(svg: str, width: int, height: int | None = None) -> bytes:
    """An SVG document -> PNG bytes (RGBA, transparent background) of ``width`` x ``height`` px (square if omitted)."""
    height = width if height is None else height
    if width < 1 or height < 1:
        raise InvalidRequest(f"cannot rasterise to {width}x{height} px")
    return bytes(resvg_py.svg_to_bytes(svg_string=svg, width=width, height=height, skip_system_fonts=True))


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


def encode_png(image: np.ndarray) -> bytes:
    """``HxWx3 BGR`` or ``HxWx4 BGRA`` uint8 -> PNG bytes."""
    ok, buffer = cv2.imencode(".png", image)
    if not ok:
        raise InvalidRequest("PNG encoding failed")
    return buffer.tobytes()


def render_png(attrs: FaceAttributes, options: RenderOptions) -> bytes:
    """A face's attributes -> its emoticon as PNG bytes, ``options.size`` x ``options.size`` px (16..1024), RGBA
    with a transparent background; rasterised from ``render_svg(attrs, options)``."""
    if not MIN_PNG_SIDE <= options.size <= MAX_PNG_SIDE:
        raise InvalidRequest(f"size must be {MIN_PNG_SIDE}..{MAX_PNG_SIDE} px, got {options.size}")
    return rasterise_svg(render_svg(attrs, options), options.size)
